/**
 * Table definitions of the Dataverse sandbox: the types the admin API accepts and the default
 * schema (contact, account, a custom loyalty card table, a table without change tracking, the four
 * Adobe email activity tables, task, systemuser and team).
 */

export type AttributeType =
	| 'String'
	| 'Memo'
	| 'Uniqueidentifier'
	| 'Integer'
	| 'BigInt'
	| 'Decimal'
	| 'Double'
	| 'Money'
	| 'Boolean'
	| 'DateTime'
	| 'Picklist'
	| 'State'
	| 'Status'
	| 'Lookup'
	| 'Customer'
	| 'Owner'
	| 'EntityName'
	| 'Virtual';

export interface OptionDefinition {
	value: number;
	label: string;
	/** Status options: the state they belong to. */
	state?: number;
	/** State options: the status a record gets when only the state is set. */
	defaultStatus?: number;
}

export interface ColumnDefinition {
	logicalName: string;
	type: AttributeType;
	displayName?: string;
	/** Strings: longest accepted value (default 100, Memo 2000). */
	maxLength?: number;
	/** Picklist, State and Status columns. */
	options?: OptionDefinition[];
	/** Boolean columns (default Yes / No). */
	trueLabel?: string;
	falseLabel?: string;
	/** Lookup, Customer and Owner columns: logical names of the tables they may point to. */
	targets?: string[];
	/** DateTime columns (default DateAndTime). */
	format?: 'DateOnly' | 'DateAndTime';
	/** Maintained by the platform; writes are ignored. */
	readOnly?: boolean;
	/**
	 * A helper of another column (`AttributeOf`), such as a lookup's `…name`, `…yominame` and
	 * `…type`: described in metadata, but not a property of the Web API entity type.
	 */
	attributeOf?: string;
	/** `IsValidForRead` (default true): false columns cannot be selected or read. */
	validForRead?: boolean;
}

export interface KeyDefinition {
	logicalName: string;
	attributes: string[];
	displayName?: string;
	/** When a key created through the Web API was created: its index builds from then on. */
	createdAt?: number;
	/** Its index could not be built (existing rows hold duplicate values): it enforces nothing. */
	failed?: boolean;
}

export interface TableDefinition {
	logicalName: string;
	/** Default: logical name + 's'. */
	entitySetName?: string;
	displayName?: string;
	displayCollectionName?: string;
	/** Default: logical name + 'id' ('activityid' for activities). */
	primaryIdAttribute?: string;
	primaryNameAttribute: string;
	/** Default true. */
	changeTrackingEnabled?: boolean;
	isActivity?: boolean;
	columns: ColumnDefinition[];
	keys?: KeyDefinition[];
}

/** A table definition with every default filled in and its columns indexed. */
export interface Table {
	logicalName: string;
	entitySetName: string;
	displayName: string;
	displayCollectionName: string;
	primaryIdAttribute: string;
	primaryNameAttribute: string;
	changeTrackingEnabled: boolean;
	isActivity: boolean;
	columns: ColumnDefinition[];
	columnsByName: Map<string, ColumnDefinition>;
	/** The columns that are Web API properties (see `isProperty`), in order. */
	properties: ColumnDefinition[];
	keys: KeyDefinition[];
	metadataId: string;
	objectTypeCode: number;
}

export const LOOKUP_TYPES: ReadonlySet<AttributeType> = new Set(['Lookup', 'Customer', 'Owner']);
export const OPTION_TYPES: ReadonlySet<AttributeType> = new Set(['Picklist', 'State', 'Status']);

export function isLookup(column: ColumnDefinition): boolean {
	return LOOKUP_TYPES.has(column.type);
}

/**
 * Whether the column is a property of the Web API entity type, i.e. can be selected, filtered,
 * read and written: not an `AttributeOf` helper, not a virtual column, not closed to reading.
 */
export function isProperty(column: ColumnDefinition): boolean {
	return !column.attributeOf && column.type !== 'Virtual' && column.validForRead !== false;
}

/**
 * The helper columns Dataverse keeps beside a lookup (`AttributeOf` the lookup): its related row's
 * name, and for customer and owner lookups the name's phonetic (yomi) form and the related table.
 */
function lookupHelpers(column: ColumnDefinition): ColumnDefinition[] {
	const name = column.logicalName;
	const helpers: ColumnDefinition[] = [
		{ logicalName: `${name}name`, type: 'String', attributeOf: name, readOnly: true },
	];
	if (column.type === 'Customer' || column.type === 'Owner') {
		helpers.push(
			{ logicalName: `${name}yominame`, type: 'String', attributeOf: name, readOnly: true },
			{ logicalName: `${name}type`, type: 'EntityName', attributeOf: name, readOnly: true },
		);
	}
	return helpers;
}

/** The property name a column has in Web API payloads (`_x_value` for lookups). */
export function propertyName(column: ColumnDefinition): string {
	return isLookup(column) ? `_${column.logicalName}_value` : column.logicalName;
}

const STATE_OPTIONS: OptionDefinition[] = [
	{ value: 0, label: 'Active', defaultStatus: 1 },
	{ value: 1, label: 'Inactive', defaultStatus: 2 },
];
const STATUS_OPTIONS: OptionDefinition[] = [
	{ value: 1, label: 'Active', state: 0 },
	{ value: 2, label: 'Inactive', state: 1 },
];

function titleCase(name: string): string {
	return name
		.replace(/^new_|^adobe_/, '')
		.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => ` ${c.toUpperCase()}`)
		.trim();
}

/** Deterministic GUID-shaped id derived from a name, so metadata ids are stable across restarts. */
export function stableGuid(name: string): string {
	let h1 = 0x811c9dc5;
	let h2 = 0x01000193;
	const hex: string[] = [];
	for (let round = 0; round < 4; round++) {
		for (let i = 0; i < name.length; i++) {
			h1 = Math.imul(h1 ^ name.charCodeAt(i), 16777619) >>> 0;
			h2 = Math.imul(h2 ^ (name.charCodeAt(i) + round), 2246822507) >>> 0;
		}
		hex.push(((h1 ^ (h2 >>> 3)) >>> 0).toString(16).padStart(8, '0'));
	}
	const s = hex.join('');
	return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`;
}

let objectTypeCounter = 10000;

/** Fills in defaults and the system columns every Dataverse table has. */
export function normalizeTable(def: TableDefinition): Table {
	if (!def.logicalName || !/^[a-z][a-z0-9_]*$/.test(def.logicalName)) {
		throw new Error(
			`Table logical name '${def.logicalName}' must be lower case letters, digits or _`,
		);
	}
	const isActivity = def.isActivity ?? false;
	const primaryIdAttribute =
		def.primaryIdAttribute ?? (isActivity ? 'activityid' : `${def.logicalName}id`);
	const columns: ColumnDefinition[] = [];
	const seen = new Set<string>();
	const add = (column: ColumnDefinition) => {
		if (seen.has(column.logicalName)) return;
		seen.add(column.logicalName);
		columns.push(column);
	};
	add({
		logicalName: primaryIdAttribute,
		type: 'Uniqueidentifier',
		displayName: titleCase(def.logicalName),
	});
	for (const column of def.columns ?? []) {
		if (!column.logicalName || !column.type) {
			throw new Error(`Table '${def.logicalName}': every column needs logicalName and type`);
		}
		if (OPTION_TYPES.has(column.type) && column.type === 'Picklist' && !column.options?.length) {
			throw new Error(
				`Table '${def.logicalName}', column '${column.logicalName}': options are required`,
			);
		}
		if (isLookup(column) && !column.targets?.length) {
			throw new Error(
				`Table '${def.logicalName}', column '${column.logicalName}': targets are required`,
			);
		}
		add(column);
	}
	for (const column of [...columns]) if (isLookup(column)) lookupHelpers(column).forEach(add);
	add({ logicalName: 'statecode', type: 'State', displayName: 'Status', options: STATE_OPTIONS });
	add({
		logicalName: 'statuscode',
		type: 'Status',
		displayName: 'Status Reason',
		options: STATUS_OPTIONS,
	});
	add({ logicalName: 'createdon', type: 'DateTime', displayName: 'Created On', readOnly: true });
	add({ logicalName: 'modifiedon', type: 'DateTime', displayName: 'Modified On', readOnly: true });
	add({
		logicalName: 'versionnumber',
		type: 'BigInt',
		displayName: 'Version Number',
		readOnly: true,
	});
	if (!seen.has(def.primaryNameAttribute)) {
		throw new Error(
			`Table '${def.logicalName}': primary name attribute '${def.primaryNameAttribute}' is not a column`,
		);
	}
	for (const key of def.keys ?? []) {
		for (const attribute of key.attributes) {
			if (!seen.has(attribute)) {
				throw new Error(
					`Table '${def.logicalName}', key '${key.logicalName}': no column '${attribute}'`,
				);
			}
		}
	}
	const displayName = def.displayName ?? titleCase(def.logicalName);
	return {
		logicalName: def.logicalName,
		entitySetName: def.entitySetName ?? `${def.logicalName}s`,
		displayName,
		displayCollectionName: def.displayCollectionName ?? `${displayName}s`,
		primaryIdAttribute,
		primaryNameAttribute: def.primaryNameAttribute,
		changeTrackingEnabled: def.changeTrackingEnabled ?? true,
		isActivity,
		columns,
		columnsByName: new Map(columns.map((c) => [c.logicalName, c])),
		properties: columns.filter(isProperty),
		keys: def.keys ?? [],
		metadataId: stableGuid(`entity:${def.logicalName}`),
		objectTypeCode: objectTypeCounter++,
	};
}

/** Turns a normalized table back into its definition (for persistence and the admin API). */
export function tableDefinitionOf(table: Table): TableDefinition {
	return {
		logicalName: table.logicalName,
		entitySetName: table.entitySetName,
		displayName: table.displayName,
		displayCollectionName: table.displayCollectionName,
		primaryIdAttribute: table.primaryIdAttribute,
		primaryNameAttribute: table.primaryNameAttribute,
		changeTrackingEnabled: table.changeTrackingEnabled,
		isActivity: table.isActivity,
		columns: table.columns,
		keys: table.keys,
	};
}

const owner: ColumnDefinition = {
	logicalName: 'ownerid',
	type: 'Owner',
	displayName: 'Owner',
	targets: ['systemuser', 'team'],
};

/**
 * An Adobe Campaign email activity as Adobe's integration shows it (AdobeDocs/campaign-standard.en
 * help/integrating/using/d365-acs-using-the-integration.md) and docs/CAMPAIGN-SETUP.md has it
 * created: the sandbox starts as an environment where the tables exist.
 */
function emailActivity(
	logicalName: string,
	displayName: string,
	dateName: string,
	extra: ColumnDefinition[],
): TableDefinition {
	return {
		logicalName,
		displayName,
		isActivity: true,
		primaryNameAttribute: 'subject',
		columns: [
			{ logicalName: 'subject', type: 'String', displayName: 'Subject', maxLength: 400 },
			{
				logicalName: 'regardingobjectid',
				type: 'Lookup',
				displayName: 'Regarding',
				targets: ['contact'],
			},
			{ logicalName: 'adobe_eventid', type: 'String', displayName: 'Event ID', maxLength: 100 },
			{
				logicalName: 'adobe_campaignname',
				type: 'String',
				displayName: 'Campaign Name',
				maxLength: 255,
			},
			{
				logicalName: 'adobe_deliveryname',
				type: 'String',
				displayName: 'Delivery Name',
				maxLength: 255,
			},
			{ logicalName: 'adobe_eventdate', type: 'DateTime', displayName: dateName },
			{
				logicalName: 'adobe_mirrorpageurl',
				type: 'String',
				displayName: 'Mirror Page URL',
				maxLength: 2000,
			},
			...extra,
			owner,
		],
		keys: [
			{
				logicalName: `${logicalName}_eventid_key`,
				attributes: ['adobe_eventid'],
				displayName: 'Event ID',
			},
		],
	};
}

export const DEFAULT_SCHEMA: TableDefinition[] = [
	{
		logicalName: 'team',
		displayName: 'Team',
		primaryNameAttribute: 'name',
		changeTrackingEnabled: false,
		columns: [{ logicalName: 'name', type: 'String', displayName: 'Team Name', maxLength: 160 }],
	},
	{
		logicalName: 'systemuser',
		displayName: 'User',
		primaryNameAttribute: 'fullname',
		changeTrackingEnabled: false,
		columns: [
			{ logicalName: 'fullname', type: 'String', displayName: 'Full Name', maxLength: 200 },
			{
				logicalName: 'internalemailaddress',
				type: 'String',
				displayName: 'Primary Email',
				maxLength: 100,
			},
		],
	},
	{
		logicalName: 'account',
		displayName: 'Account',
		primaryNameAttribute: 'name',
		columns: [
			{ logicalName: 'name', type: 'String', displayName: 'Account Name', maxLength: 160 },
			{
				logicalName: 'accountnumber',
				type: 'String',
				displayName: 'Account Number',
				maxLength: 20,
			},
			{ logicalName: 'telephone1', type: 'String', displayName: 'Main Phone', maxLength: 50 },
			{ logicalName: 'emailaddress1', type: 'String', displayName: 'Email', maxLength: 100 },
			{ logicalName: 'revenue', type: 'Money', displayName: 'Annual Revenue' },
			{ logicalName: 'numberofemployees', type: 'Integer', displayName: 'Number of Employees' },
			owner,
		],
		keys: [
			{
				logicalName: 'account_accountnumber_key',
				attributes: ['accountnumber'],
				displayName: 'Account Number',
			},
		],
	},
	{
		logicalName: 'contact',
		displayName: 'Contact',
		primaryNameAttribute: 'fullname',
		columns: [
			{ logicalName: 'firstname', type: 'String', displayName: 'First Name', maxLength: 50 },
			{ logicalName: 'lastname', type: 'String', displayName: 'Last Name', maxLength: 50 },
			{
				logicalName: 'fullname',
				type: 'String',
				displayName: 'Full Name',
				maxLength: 160,
				readOnly: true,
			},
			{ logicalName: 'emailaddress1', type: 'String', displayName: 'Email', maxLength: 100 },
			{ logicalName: 'telephone1', type: 'String', displayName: 'Business Phone', maxLength: 50 },
			{ logicalName: 'mobilephone', type: 'String', displayName: 'Mobile Phone', maxLength: 50 },
			{
				logicalName: 'address1_city',
				type: 'String',
				displayName: 'Address 1: City',
				maxLength: 80,
			},
			{ logicalName: 'birthdate', type: 'DateTime', displayName: 'Birthday', format: 'DateOnly' },
			{
				logicalName: 'gendercode',
				type: 'Picklist',
				displayName: 'Gender',
				options: [
					{ value: 1, label: 'Male' },
					{ value: 2, label: 'Female' },
				],
			},
			{
				logicalName: 'familystatuscode',
				type: 'Picklist',
				displayName: 'Marital Status',
				options: [
					{ value: 1, label: 'Single' },
					{ value: 2, label: 'Married' },
					{ value: 3, label: 'Divorced' },
					{ value: 4, label: 'Widowed' },
				],
			},
			{
				logicalName: 'preferredcontactmethodcode',
				type: 'Picklist',
				displayName: 'Preferred Method of Contact',
				options: [
					{ value: 1, label: 'Any' },
					{ value: 2, label: 'Email' },
					{ value: 3, label: 'Phone' },
					{ value: 4, label: 'Fax' },
					{ value: 5, label: 'Mail' },
				],
			},
			{ logicalName: 'creditlimit', type: 'Money', displayName: 'Credit Limit' },
			{
				logicalName: 'parentcustomerid',
				type: 'Customer',
				displayName: 'Company Name',
				targets: ['account', 'contact'],
			},
			...(
				[
					['donotbulkemail', 'Do not allow Bulk Emails'],
					['donotemail', 'Do not allow Emails'],
					['donotphone', 'Do not allow Phone Calls'],
					['donotfax', 'Do not allow Faxes'],
					['donotpostalmail', 'Do not allow Mails'],
				] as const
			).map(([logicalName, displayName]): ColumnDefinition => ({
				logicalName,
				type: 'Boolean',
				displayName,
				trueLabel: 'Do Not Allow',
				falseLabel: 'Allow',
			})),
			owner,
		],
	},
	{
		logicalName: 'new_loyaltycard',
		displayName: 'Loyalty Card',
		primaryNameAttribute: 'new_name',
		columns: [
			{ logicalName: 'new_name', type: 'String', displayName: 'Name', maxLength: 100 },
			{ logicalName: 'new_cardnumber', type: 'String', displayName: 'Card Number', maxLength: 20 },
			{ logicalName: 'new_points', type: 'Integer', displayName: 'Points' },
			{
				logicalName: 'new_tier',
				type: 'Picklist',
				displayName: 'Tier',
				options: [
					{ value: 100000000, label: 'Bronze' },
					{ value: 100000001, label: 'Silver' },
					{ value: 100000002, label: 'Gold' },
					{ value: 100000003, label: 'Platinum' },
				],
			},
			{
				logicalName: 'new_contactid',
				type: 'Lookup',
				displayName: 'Contact',
				targets: ['contact'],
			},
			{
				logicalName: 'new_issuedon',
				type: 'DateTime',
				displayName: 'Issued On',
				format: 'DateOnly',
			},
			owner,
		],
		keys: [
			{
				logicalName: 'new_loyaltycard_cardnumber_key',
				attributes: ['new_cardnumber'],
				displayName: 'Card Number',
			},
		],
	},
	{
		logicalName: 'new_region',
		displayName: 'Region',
		primaryNameAttribute: 'new_name',
		changeTrackingEnabled: false,
		columns: [
			{ logicalName: 'new_name', type: 'String', displayName: 'Name', maxLength: 100 },
			{ logicalName: 'new_code', type: 'String', displayName: 'Code', maxLength: 10 },
			{ logicalName: 'new_population', type: 'Integer', displayName: 'Population' },
		],
		keys: [{ logicalName: 'new_region_code_key', attributes: ['new_code'], displayName: 'Code' }],
	},
	emailActivity('adobe_emailsend', 'Adobe Campaign Email Send', 'Date Sent', []),
	emailActivity('adobe_emailopen', 'Adobe Campaign Email Open', 'Date Opened', []),
	emailActivity('adobe_emailclick', 'Adobe Campaign Email URL Click', 'Date Clicked', [
		{
			logicalName: 'adobe_clickedurl',
			type: 'String',
			displayName: 'Tracking URL',
			maxLength: 2000,
		},
	]),
	emailActivity('adobe_emailbounce', 'Adobe Campaign Email Bounce', 'Date Bounced', []),
	{
		logicalName: 'task',
		displayName: 'Task',
		isActivity: true,
		primaryNameAttribute: 'subject',
		columns: [
			{ logicalName: 'subject', type: 'String', displayName: 'Subject', maxLength: 200 },
			{ logicalName: 'description', type: 'Memo', displayName: 'Description', maxLength: 2000 },
			{
				logicalName: 'regardingobjectid',
				type: 'Lookup',
				displayName: 'Regarding',
				targets: ['contact', 'account'],
			},
			{ logicalName: 'scheduledend', type: 'DateTime', displayName: 'Due' },
			owner,
		],
	},
];
