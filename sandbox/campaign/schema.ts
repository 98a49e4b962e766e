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
	/** Allowed values of an `enumeration` field (written by name). */
	values?: string[];
	/**
	 * Campaign refuses a second record with the same value (a unique index or identification key
	 * defined by an administrator). Never shown in the metadata: Adobe's metadata has no such
	 * attribute, so clients cannot know it.
	 */
	unique?: boolean;
	/** Maximum length of a `string` field. */
	length?: number;
	/** Resource a `link` field points to (written as `{"PKey": "…"}`). */
	target?: string;
	/**
	 * A `datetime` the server maintains: when the named field last changed (the profile's
	 * `blackListEmailLastModified`). Writing it is refused as read-only.
	 */
	tracks?: string;
	/** The metadata's `dataPolicy` (e.g. `email`); shape only, the sandbox does not apply it. */
	dataPolicy?: string;
}

/**
 * A filter. `equals` selects records whose field equals the query parameter; `after` selects
 * records whose (field, tieField) pair is strictly greater than the parameters and orders them by
 * that pair, which is what a checkpointed reader needs (a sandbox-only filter).
 */
export interface FilterDefinition {
	/** The name it is listed under and called by (`byEmail`; custom ones need not start with `by`). */
	name: string;
	kind?: 'equals' | 'after';
	field: string;
	/**
	 * Query parameter name. Default: out-of-the-box filters the field name, custom filters the
	 * name Campaign generates, `<field>_parameter` (CS help/api/using/filtering.md: `amount_parameter`).
	 */
	param?: string;
	/** `after` only: the field breaking ties of `field` (default `PKey` order). */
	tieField?: string;
	/** `after` only: query parameter for the tie field (default as for `param`). */
	tieParam?: string;
	label?: string;
	/**
	 * An out-of-the-box filter: also under `profileAndServices`. Custom filters exist only under
	 * `profileAndServicesExt` (CS help/api/using/filtering.md, "Custom filters").
	 */
	builtIn?: boolean;
}

export interface ResourceDefinition {
	/** API name, e.g. `profile` or `cusLoyaltyCard`. */
	name: string;
	label?: string;
	fields: FieldDefinition[];
	filters?: FilterDefinition[];
	/**
	 * Linked to the profile (default): under `profileAndServicesExt` and listed there. Otherwise
	 * only under `customResources` (CS help/api/using/custom-resources.md).
	 */
	linkedToProfile?: boolean;
}

/** The query parameter of a filter's main field, and of its tie field. */
export function filterParams(filter: FilterDefinition): { param: string; tieParam?: string } {
	const generated = (field: string) => (filter.builtIn ? field : `${field}_parameter`);
	return {
		param: filter.param ?? generated(filter.field),
		...(filter.tieField ? { tieParam: filter.tieParam ?? generated(filter.tieField) } : {}),
	};
}

/** Fields the server maintains on every resource; clients may send them back but never set them. */
export const SYSTEM_FIELDS: FieldDefinition[] = [
	{ name: 'PKey', type: 'string', label: 'Primary key' },
	{ name: 'created', type: 'datetime', label: 'Created' },
	{ name: 'lastModified', type: 'datetime', label: 'Last modified' },
];
export const READ_ONLY_FIELDS = new Set(['PKey', 'href', 'created', 'lastModified']);

/**
 * The profile's opt-out flags as the live REST API names them (public clients of it read and
 * write `blackList…`; Adobe's pages renamed them blockList/denyList editorially), each with the
 * date it last changed, and the CCPA flag (CS help/api/using/managing-ccpa-opt-out.md).
 */
export const OPT_OUT_FLAGS = [
	'blackList',
	'blackListEmail',
	'blackListFax',
	'blackListMobile',
	'blackListPhone',
	'blackListPostalMail',
	'blackListPushnotification',
] as const;

const optOutLabels: Record<string, string> = {
	blackList: 'No longer contact (by any channel)',
	blackListEmail: 'No longer contact by email',
	blackListFax: 'No longer contact by fax',
	blackListMobile: 'No longer contact by SMS',
	blackListPhone: 'No longer contact by phone',
	blackListPostalMail: 'No longer contact by direct mail',
	blackListPushnotification: 'No longer contact by push notification',
};

export function defaultResources(): ResourceDefinition[] {
	return [
		{
			name: 'profile',
			label: 'Profiles',
			// Lengths from CS help/developing/using/datamodel-profile.md.
			fields: [
				{ name: 'email', type: 'string', label: 'Email', length: 128, dataPolicy: 'email' },
				{ name: 'firstName', type: 'string', label: 'First name', length: 30 },
				{ name: 'lastName', type: 'string', label: 'Last name', length: 50 },
				{ name: 'birthDate', type: 'date', label: 'Date of birth' },
				{
					name: 'gender',
					type: 'enumeration',
					label: 'Gender',
					values: ['unknown', 'male', 'female'],
				},
				// The integration stores the Dynamics contactid here. Not unique: nothing documents a
				// unique index on it.
				{ name: 'externalId', type: 'string', label: 'External Resource ID', length: 100 },
				...OPT_OUT_FLAGS.flatMap((name): FieldDefinition[] => [
					{ name, type: 'boolean', label: optOutLabels[name] },
					{
						name: `${name}LastModified`,
						type: 'datetime',
						label: `${optOutLabels[name]} (last modified)`,
						tracks: name,
					},
				]),
				{ name: 'ccpaOptOut', type: 'boolean', label: 'CCPA Opt-Out' },
			],
			filters: [
				{ name: 'byEmail', field: 'email', label: 'By email', builtIn: true },
				// A custom filter an administrator defines for the integration (see the README).
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
					// Sandbox-only: a checkpointed read (see sandbox/README.md).
					name: 'byLastModifiedAfter',
					kind: 'after',
					field: 'lastModified',
					param: 'lastModified',
					tieField: 'eventId',
					tieParam: 'eventId',
					label: 'Modified after a checkpoint (lastModified, eventId)',
				},
			],
		},
	];
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Path segments after a resource that are not filters. */
const RESERVED_SEGMENTS = new Set(['metadata', 'resourceType']);
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
		if (field.tracks !== undefined && !def.fields.some((f) => f.name === field.tracks)) {
			problems.push(`Field '${field.name}' tracks unknown field '${String(field.tracks)}'.`);
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
		if (!filter || typeof filter.name !== 'string' || !NAME.test(filter.name)) {
			problems.push(`Filter name '${String(filter?.name)}' is not a valid API name.`);
			continue;
		}
		if (RESERVED_SEGMENTS.has(filter.name)) {
			problems.push(`Filter name '${filter.name}' is reserved.`);
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
