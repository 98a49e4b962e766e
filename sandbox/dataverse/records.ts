/**
 * Between Web API JSON and stored rows: reading create/update payloads (type checks, lookups bound
 * with `@odata.bind`) and rendering rows ($select, etag, formatted-value and lookup annotations).
 */
import { isLookup, isProperty, propertyName, type ColumnDefinition, type Table } from './schema';
import {
	answeredDateTime,
	notFound,
	Store,
	StoreError,
	type LookupValue,
	type Row,
	type TableState,
} from './store';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const FORMATTED = 'OData.Community.Display.V1.FormattedValue';
export const LOOKUP_LOGICAL_NAME = 'Microsoft.Dynamics.CRM.lookuplogicalname';
export const NAVIGATION_PROPERTY = 'Microsoft.Dynamics.CRM.associatednavigationproperty';

export function isGuid(value: unknown): value is string {
	return typeof value === 'string' && GUID_RE.test(value);
}

function payloadError(table: Table, inner: string): StoreError {
	return new StoreError(
		400,
		'0x80048d19',
		`Error identified in Payload provided by the user for Entity :'${table.entitySetName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: ${inner}`,
	);
}

function convertError(table: Table, value: unknown, edm: string): StoreError {
	const literal = typeof value === 'string' ? value : JSON.stringify(value);
	return payloadError(
		table,
		`Cannot convert the literal '${literal}' to the expected type '${edm}'.`,
	);
}

function validationError(message: string): StoreError {
	return new StoreError(400, '0x80044331', `A validation error occurred.  ${message}`);
}

/** Resolves `$1`-style Content-ID references inside a $batch changeset to entity URLs. */
export type ContentIdResolver = (reference: string) => string | undefined;

/**
 * Finds the lookup column and the tables a navigation property name can bind to. An owner's
 * `ownerid` takes a user or a team (webapi/query/select-columns.md, "Lookup property data").
 */
function navigationTarget(
	table: Table,
	navigation: string,
): { column: ColumnDefinition; targets: string[] } | undefined {
	const name = navigation.toLowerCase();
	for (const column of table.columns) {
		if (!isLookup(column)) continue;
		const targets = column.targets ?? [];
		if (name === column.logicalName && (targets.length === 1 || column.type === 'Owner')) {
			return { column, targets };
		}
		for (const target of targets) {
			if (
				name === `${column.logicalName}_${target}` ||
				name === `${column.logicalName}_${target}_${table.logicalName}`
			) {
				return { column, targets: [target] };
			}
		}
	}
	return undefined;
}

function readBind(
	store: Store,
	table: Table,
	navigation: string,
	value: unknown,
	resolveContentId?: ContentIdResolver,
): { column: ColumnDefinition; value: LookupValue | null } {
	const nav = navigationTarget(table, navigation);
	if (!nav) {
		throw payloadError(
			table,
			`An undeclared property '${navigation}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
		);
	}
	if (value === null) return { column: nav.column, value: null };
	let reference = typeof value === 'string' ? value : '';
	if (reference.startsWith('$') && resolveContentId) {
		const resolved = resolveContentId(reference);
		if (!resolved) {
			throw new StoreError(
				400,
				'0x80060888',
				`Content-ID Reference: '${reference}' does not exist in the batch context.`,
			);
		}
		reference = resolved;
	}
	const match = /(?:^|\/)([A-Za-z0-9_]+)\(\{?([0-9a-fA-F-]{36})\}?\)$/.exec(reference);
	if (!match) {
		throw payloadError(
			table,
			`The value '${String(value)}' of '${navigation}@odata.bind' is not a valid entity reference such as '/accounts(00000000-0000-0000-0000-000000000000)'.`,
		);
	}
	const targetState = store.bySetName(match[1]);
	const target = targetState?.table.logicalName;
	if (!targetState || !target || !nav.targets.includes(target)) {
		throw payloadError(
			table,
			`The entity set '${match[1]}' does not match the navigation property '${navigation}', which expects '${nav.targets.join("' or '")}'.`,
		);
	}
	const id = match[2].toLowerCase();
	if (!targetState.rows.has(id)) throw notFound(target, id);
	return { column: nav.column, value: { id, table: target } };
}

const EDM: Record<string, string> = {
	String: 'Edm.String',
	Memo: 'Edm.String',
	Integer: 'Edm.Int32',
	Picklist: 'Edm.Int32',
	State: 'Edm.Int32',
	Status: 'Edm.Int32',
	BigInt: 'Edm.Int64',
	Money: 'Edm.Decimal',
	Decimal: 'Edm.Decimal',
	Double: 'Edm.Double',
	Boolean: 'Edm.Boolean',
	DateTime: 'Edm.DateTimeOffset',
	Uniqueidentifier: 'Edm.Guid',
};

export function edmType(column: ColumnDefinition): string {
	if (isLookup(column)) return 'Edm.Guid';
	if (column.type === 'DateTime' && column.format === 'DateOnly') return 'Edm.Date';
	return EDM[column.type] ?? 'Edm.String';
}

/** Converts one JSON value for a column, answering Dataverse's errors for wrong types. */
export function convertValue(table: Table, column: ColumnDefinition, value: unknown): unknown {
	if (value === null) return null;
	const edm = edmType(column);
	switch (column.type) {
		case 'String':
		case 'Memo': {
			if (typeof value !== 'string') throw convertError(table, value, edm);
			const max = column.maxLength ?? (column.type === 'Memo' ? 2000 : 100);
			if (value.length > max) {
				throw validationError(
					`The length of the '${column.logicalName}' attribute of the '${table.logicalName}' entity exceeded the maximum allowed length of '${max}'.`,
				);
			}
			return value;
		}
		case 'Integer':
		case 'BigInt':
		case 'Picklist':
		case 'State':
		case 'Status': {
			if (typeof value !== 'number' || !Number.isInteger(value))
				throw convertError(table, value, edm);
			if (column.type === 'Integer' && (value > 2147483647 || value < -2147483648)) {
				throw validationError(
					`The value ${value} of '${column.logicalName}' on record of type '${table.logicalName}' is outside the valid range.`,
				);
			}
			if (column.options && !column.options.some((o) => o.value === value)) {
				throw validationError(
					`The value ${value} of '${column.logicalName}' on record of type '${table.logicalName}' is outside the valid range. Accepted Values: ${column.options.map((o) => o.value).join(',')}`,
				);
			}
			return value;
		}
		case 'Money':
		case 'Decimal':
		case 'Double': {
			const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
			if (typeof number !== 'number' || !Number.isFinite(number))
				throw convertError(table, value, edm);
			if (column.type === 'Money' && Math.abs(number) > 922337203685477) {
				throw validationError(
					`The value ${number} of '${column.logicalName}' on record of type '${table.logicalName}' is outside the valid range.`,
				);
			}
			return number;
		}
		case 'Boolean':
			if (typeof value !== 'boolean') throw convertError(table, value, edm);
			return value;
		case 'DateTime': {
			if (typeof value !== 'string') throw convertError(table, value, edm);
			if (column.format === 'DateOnly') {
				if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
					throw convertError(table, value, edm);
				}
				return value;
			}
			const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
			if (
				!dateOnly &&
				!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
			) {
				throw convertError(table, value, edm);
			}
			const ms = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
			if (Number.isNaN(ms)) throw convertError(table, value, edm);
			return new Date(ms).toISOString().replace('.000Z', 'Z');
		}
		case 'Uniqueidentifier':
			if (!isGuid(value)) throw convertError(table, value, edm);
			return value.toLowerCase();
		default:
			throw convertError(table, value, edm);
	}
}

/** Reads a create/update body into column changes (lookups as `{ id, table }`). */
export function readPayload(
	store: Store,
	state: TableState,
	body: unknown,
	resolveContentId?: ContentIdResolver,
): Row {
	const table = state.table;
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		throw payloadError(table, 'The request body must be a JSON object describing the entity.');
	}
	const changes: Row = {};
	for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
		const at = key.indexOf('@');
		if (at >= 0) {
			if (key.slice(at + 1).toLowerCase() === 'odata.bind' && at > 0) {
				const bound = readBind(store, table, key.slice(0, at), value, resolveContentId);
				changes[bound.column.logicalName] = bound.value;
			}
			// Other instance annotations (formatted values echoed back, @odata.type, etag) are ignored.
			continue;
		}
		const column = table.columnsByName.get(key);
		if (!column || isLookup(column) || !isProperty(column)) {
			throw payloadError(
				table,
				`The property '${key}' does not exist on type 'Microsoft.Dynamics.CRM.${table.logicalName}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
			);
		}
		if (column.readOnly) continue;
		changes[key] = convertValue(table, column, value);
	}
	return changes;
}

/** Checks that a status reason belongs to the record's state. */
export function checkStateStatus(table: Table, row: Row): void {
	const status = row.statuscode;
	if (status === null || status === undefined) return;
	const option = table.columnsByName.get('statuscode')?.options?.find((o) => o.value === status);
	if (option?.state !== undefined && option.state !== row.statecode) {
		throw validationError(
			`${status} is not a valid status code for state code ${table.displayName}State.${row.statecode === 0 ? 'Active' : 'Inactive'} on ${table.logicalName} with Id ${String(row[table.primaryIdAttribute])}.`,
		);
	}
}

/** Which instance annotations a `Prefer: odata.include-annotations` asks for. */
export type AnnotationFilter = (term: string) => boolean;

export function annotationFilter(preference: string | undefined): AnnotationFilter {
	if (!preference) return () => false;
	const patterns = preference
		.replace(/^"|"$/g, '')
		.split(',')
		.map((p) => p.trim())
		.filter(Boolean);
	return (term) =>
		patterns.some(
			(p) => p === '*' || p === term || (p.endsWith('.*') && term.startsWith(p.slice(0, -1))),
		);
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', {
	minimumFractionDigits: 2,
	maximumFractionDigits: 2,
});

function formatDate(iso: string, dateOnly: boolean): string {
	const d = new Date(dateOnly ? `${iso.slice(0, 10)}T00:00:00Z` : iso);
	const date = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
	if (dateOnly) return date;
	const h = d.getUTCHours();
	const minutes = String(d.getUTCMinutes()).padStart(2, '0');
	return `${date} ${h % 12 === 0 ? 12 : h % 12}:${minutes} ${h < 12 ? 'AM' : 'PM'}`;
}

/** The display value Dataverse gives a column value, or undefined when it gives none. */
export function formattedValue(
	store: Store,
	column: ColumnDefinition,
	value: unknown,
): string | undefined {
	if (value === null || value === undefined) return undefined;
	switch (column.type) {
		case 'Picklist':
		case 'State':
		case 'Status':
			return column.options?.find((o) => o.value === value)?.label;
		case 'Boolean':
			return value ? (column.trueLabel ?? 'Yes') : (column.falseLabel ?? 'No');
		case 'Money':
			return money.format(value as number);
		case 'Integer':
			return integer.format(value as number);
		case 'Decimal':
			return decimal.format(value as number);
		case 'DateTime':
			return formatDate(value as string, column.format === 'DateOnly');
		case 'Lookup':
		case 'Customer':
		case 'Owner': {
			const lookup = value as LookupValue;
			const target = store.table(lookup.table);
			const name = target?.rows.get(lookup.id)?.[target.table.primaryNameAttribute];
			return typeof name === 'string' ? name : undefined;
		}
		default:
			return undefined;
	}
}

export function navigationPropertyOf(
	_table: Table,
	column: ColumnDefinition,
	target: string,
): string {
	// An owner has one navigation property whatever its table (query/select-columns.md).
	if (column.type === 'Owner') return column.logicalName;
	if ((column.targets?.length ?? 0) > 1) return `${column.logicalName}_${target}`;
	return column.logicalName;
}

/** A row as the Web API returns it. `columns` null means all columns. */
export function renderRow(
	store: Store,
	table: Table,
	row: Row,
	columns: ColumnDefinition[] | null,
	wants: AnnotationFilter,
): Record<string, unknown> {
	const out: Record<string, unknown> = { '@odata.etag': `W/"${String(row.versionnumber)}"` };
	const formatted = wants(FORMATTED);
	const lookupNames = wants(LOOKUP_LOGICAL_NAME);
	const navigation = wants(NAVIGATION_PROPERTY);
	const list = columns ?? table.properties;
	let hasPk = false;
	for (const column of list) {
		if (column.logicalName === table.primaryIdAttribute) hasPk = true;
		const value = row[column.logicalName] ?? null;
		const name = propertyName(column);
		if (isLookup(column)) {
			const lookup = value as LookupValue | null;
			if (lookup) {
				if (formatted) {
					const display = formattedValue(store, column, lookup);
					if (display !== undefined) out[`${name}@${FORMATTED}`] = display;
				}
				if (navigation)
					out[`${name}@${NAVIGATION_PROPERTY}`] = navigationPropertyOf(table, column, lookup.table);
				if (lookupNames) out[`${name}@${LOOKUP_LOGICAL_NAME}`] = lookup.table;
			}
			out[name] = lookup ? lookup.id : null;
			continue;
		}
		if (formatted) {
			const display = formattedValue(store, column, value);
			if (display !== undefined) out[`${name}@${FORMATTED}`] = display;
		}
		out[name] =
			column.type === 'DateTime' && typeof value === 'string'
				? answeredDateTime(value, store.dateTimePrecision)
				: value;
	}
	if (!hasPk) out[table.primaryIdAttribute] = row[table.primaryIdAttribute];
	return out;
}
