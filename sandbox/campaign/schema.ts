/**
 * Resource definitions of the Campaign sandbox: the standard `profile` resource, the custom resources
 * the integration uses, and the validation of definitions posted through the admin API.
 */

export type FieldType =
	'string' | 'boolean' | 'long' | 'double' | 'date' | 'datetime' | 'enumeration' | 'link';

export interface FieldDefinition {
	name: string;
	type: FieldType;
	label?: string;
	/** Allowed values of an `enumeration` field. */
	values?: string[];
	/** A second record with the same value is refused (409). */
	unique?: boolean;
	/** Maximum length of a `string` field. */
	length?: number;
	/** Resource a `link` field points to (written as `{"PKey": "…"}`). */
	target?: string;
}

/**
 * A `by<Name>` filter. `equals` selects records whose field equals the query parameter; `after`
 * selects records whose (field, tieField) pair is strictly greater than the parameters and orders
 * them by that pair, which is what a checkpointed reader needs.
 */
export interface FilterDefinition {
	name: string;
	kind?: 'equals' | 'after';
	field: string;
	/** Query parameter name (default: the field name). */
	param?: string;
	/** `after` only: the field breaking ties of `field` (default `PKey` order). */
	tieField?: string;
	/** `after` only: query parameter for the tie field (default: its name). */
	tieParam?: string;
	label?: string;
}

export interface ResourceDefinition {
	/** API name, e.g. `profile` or `cusLoyaltyCard`. */
	name: string;
	label?: string;
	fields: FieldDefinition[];
	filters?: FilterDefinition[];
}

/** Fields the server maintains on every resource; clients may send them back but never set them. */
export const SYSTEM_FIELDS: FieldDefinition[] = [
	{ name: 'PKey', type: 'string', label: 'Primary key' },
	{ name: 'created', type: 'datetime', label: 'Created' },
	{ name: 'lastModified', type: 'datetime', label: 'Last modified' },
];
export const READ_ONLY_FIELDS = new Set(['PKey', 'href', 'created', 'lastModified']);

/** Campaign's fixed opt-out fields. */
export const OPT_OUT_FIELDS = [
	'denyList',
	'denyListEmail',
	'denyListFax',
	'denyListMobile',
	'denyListPhone',
	'denyListPostalMail',
	'denyListPushnotification',
	'ccpaOptOut',
] as const;

const optOutLabels: Record<string, string> = {
	denyList: 'No longer contact (by any channel)',
	denyListEmail: 'No longer contact by email',
	denyListFax: 'No longer contact by fax',
	denyListMobile: 'No longer contact by SMS',
	denyListPhone: 'No longer contact by phone',
	denyListPostalMail: 'No longer contact by direct mail',
	denyListPushnotification: 'No longer contact by push notification',
	ccpaOptOut: 'CCPA Opt-Out',
};

export function defaultResources(): ResourceDefinition[] {
	return [
		{
			name: 'profile',
			label: 'Profiles',
			fields: [
				{ name: 'email', type: 'string', label: 'Email', length: 128 },
				{ name: 'firstName', type: 'string', label: 'First name', length: 64 },
				{ name: 'lastName', type: 'string', label: 'Last name', length: 64 },
				{ name: 'birthDate', type: 'date', label: 'Birth date' },
				{
					name: 'gender',
					type: 'enumeration',
					label: 'Gender',
					values: ['unknown', 'male', 'female'],
				},
				// The integration stores the Dynamics contactid here and looks profiles up by it.
				{ name: 'externalId', type: 'string', label: 'External ID', length: 255, unique: true },
				...OPT_OUT_FIELDS.map((name): FieldDefinition => ({
					name,
					type: 'boolean',
					label: optOutLabels[name],
				})),
			],
			filters: [
				{ name: 'byEmail', field: 'email', label: 'By email' },
				{ name: 'byExternalId', field: 'externalId', label: 'By external ID' },
			],
		},
		{
			name: 'cusLoyaltyCard',
			label: 'Loyalty cards',
			fields: [
				{ name: 'crmId', type: 'string', label: 'CRM ID', length: 64, unique: true },
				{ name: 'cardNumber', type: 'string', label: 'Card number', length: 32 },
				{ name: 'points', type: 'long', label: 'Points' },
				{
					name: 'tier',
					type: 'enumeration',
					label: 'Tier',
					values: ['bronze', 'silver', 'gold', 'platinum'],
				},
				{ name: 'profile', type: 'link', label: 'Profile', target: 'profile' },
			],
			filters: [{ name: 'byCrmId', field: 'crmId', label: 'By CRM ID' }],
		},
		{
			name: 'cusEmailEvent',
			label: 'Email events',
			fields: [
				{ name: 'eventId', type: 'string', label: 'Event ID', length: 64, unique: true },
				{
					name: 'type',
					type: 'enumeration',
					label: 'Event type',
					values: ['send', 'open', 'click', 'bounce'],
				},
				{ name: 'profileExternalId', type: 'string', label: 'Profile external ID', length: 255 },
				{ name: 'profile', type: 'link', label: 'Profile', target: 'profile' },
				{ name: 'campaignId', type: 'string', label: 'Campaign ID', length: 64 },
				{ name: 'campaignName', type: 'string', label: 'Campaign name', length: 255 },
				{ name: 'deliveryId', type: 'string', label: 'Delivery ID', length: 64 },
				{ name: 'deliveryName', type: 'string', label: 'Delivery name', length: 255 },
				{ name: 'date', type: 'datetime', label: 'Event date' },
				{ name: 'mirrorPageUrl', type: 'string', label: 'Mirror page URL', length: 1024 },
				{ name: 'clickedUrl', type: 'string', label: 'Clicked URL', length: 1024 },
			],
			filters: [
				{ name: 'byEventId', field: 'eventId', label: 'By event ID' },
				{ name: 'byType', field: 'type', label: 'By event type' },
				{
					name: 'byLastModifiedAfter',
					kind: 'after',
					field: 'lastModified',
					tieField: 'eventId',
					label: 'Modified after a checkpoint (lastModified, eventId)',
				},
			],
		},
	];
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const FIELD_TYPES: FieldType[] = [
	'string',
	'boolean',
	'long',
	'double',
	'date',
	'datetime',
	'enumeration',
	'link',
];

/** Checks a definition posted by the admin API; returns the problems found (empty when valid). */
export function validateDefinition(def: ResourceDefinition, known: Set<string>): string[] {
	const problems: string[] = [];
	if (!def || typeof def !== 'object') return ['The resource definition must be an object.'];
	if (typeof def.name !== 'string' || !NAME.test(def.name)) {
		problems.push(`Resource name '${String(def.name)}' is not a valid API name.`);
	}
	if (!Array.isArray(def.fields)) return [...problems, "'fields' must be an array."];
	const names = new Set<string>();
	for (const field of def.fields) {
		if (!field || typeof field.name !== 'string' || !NAME.test(field.name)) {
			problems.push(`Field name '${String(field?.name)}' is not a valid API name.`);
			continue;
		}
		if (READ_ONLY_FIELDS.has(field.name)) problems.push(`Field '${field.name}' is reserved.`);
		if (names.has(field.name)) problems.push(`Field '${field.name}' is defined twice.`);
		names.add(field.name);
		if (!FIELD_TYPES.includes(field.type)) {
			problems.push(`Field '${field.name}' has unknown type '${String(field.type)}'.`);
		}
		if (field.type === 'enumeration' && !(Array.isArray(field.values) && field.values.length)) {
			problems.push(`Enumeration field '${field.name}' needs 'values'.`);
		}
		if (
			field.type === 'link' &&
			!(field.target && (known.has(field.target) || field.target === def.name))
		) {
			problems.push(
				`Link field '${field.name}' targets unknown resource '${String(field.target)}'.`,
			);
		}
	}
	for (const filter of def.filters ?? []) {
		if (!filter || typeof filter.name !== 'string' || !/^by[A-Z]/.test(filter.name)) {
			problems.push(`Filter name '${String(filter?.name)}' must look like 'byName'.`);
			continue;
		}
		const all = new Set([...names, 'PKey', 'created', 'lastModified']);
		if (!all.has(filter.field)) {
			problems.push(`Filter '${filter.name}' uses unknown field '${String(filter.field)}'.`);
		}
		if (filter.tieField && !all.has(filter.tieField)) {
			problems.push(`Filter '${filter.name}' uses unknown tie field '${filter.tieField}'.`);
		}
	}
	return problems;
}
