/** What the core needs to know about the two schemas (read from live metadata by the adapters). */

/** Dataverse `AttributeType` values the sync understands; others are treated as text. */
export type DataverseType =
	| 'String'
	| 'Memo'
	| 'Integer'
	| 'BigInt'
	| 'Decimal'
	| 'Double'
	| 'Money'
	| 'Boolean'
	| 'DateTime'
	| 'DateOnly'
	| 'Picklist'
	| 'State'
	| 'Status'
	| 'Lookup'
	| 'Customer'
	| 'Owner'
	| 'Uniqueidentifier'
	| 'EntityName'
	| 'Virtual';

export interface ColumnOption {
	value: number;
	label: string;
}

export interface DynamicsColumn {
	logicalName: string;
	attributeType: DataverseType | string;
	displayName?: string;
	/** Picklist, state, status and boolean options (booleans: 1 = true, 0 = false). */
	options?: ColumnOption[];
}

/** Campaign Standard field types, normalised (see `normalizeCampaignType`). */
export type CampaignFieldType =
	| 'string'
	| 'int'
	| 'long'
	| 'double'
	| 'float'
	| 'boolean'
	| 'date'
	| 'datetime'
	| 'enum'
	| 'link';

export interface CampaignField {
	name: string;
	type: CampaignFieldType | string;
	label?: string;
	/** The resource a link points to (the metadata's `resTarget`). */
	target?: string;
}

export const NUMBER_TYPES: ReadonlySet<string> = new Set([
	'Integer',
	'BigInt',
	'Decimal',
	'Double',
	'Money',
]);
export const CHOICE_TYPES: ReadonlySet<string> = new Set(['Picklist', 'State', 'Status']);
/** Columns whose values have labels (Dataverse's options): the choices and yes/no columns. */
export const OPTION_TYPES: ReadonlySet<string> = new Set([...CHOICE_TYPES, 'Boolean']);
/** Lookup, customer and owner columns: read as `_<name>_value` (webapi/web-api-properties.md). */
export const LOOKUP_TYPES: ReadonlySet<string> = new Set(['Lookup', 'Customer', 'Owner']);
export const DATE_TYPES: ReadonlySet<string> = new Set(['DateTime', 'DateOnly']);

export function columnIndex(
	columns: readonly DynamicsColumn[] | undefined,
): Map<string, DynamicsColumn> {
	const index = new Map<string, DynamicsColumn>();
	for (const column of columns ?? []) index.set(column.logicalName, column);
	return index;
}
