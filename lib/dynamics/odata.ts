/**
 * OData literal escaping and a small filter builder for the Dataverse Web API.
 *
 * Every value that ends up in a URL (a `$filter`, an alternate key, a function parameter) goes
 * through `odataLiteral`, and every column name through `assertIdentifier`, so that no value can
 * change the shape of a query.
 */

import { isGuid } from '../sync/values';

export type ODataLiteralType = 'string' | 'guid' | 'datetime' | 'number' | 'boolean' | 'null';

export type ODataValue = string | number | boolean | Date | null;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Date only (for date-only columns) or a full ISO 8601 timestamp with an explicit zone.
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** Thrown for a value or a column name that cannot be put into a query safely. */
export class ODataSyntaxError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ODataSyntaxError';
	}
}

function describe(value: unknown): string {
	if (typeof value === 'string')
		return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
	if (value instanceof Date)
		return `Date(${isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
	return String(value);
}

/** Checks a column, table or parameter name: letters, digits and underscores only. */
export function assertIdentifier(name: string, what = 'column name'): string {
	if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
		throw new ODataSyntaxError(
			`Invalid ${what} ${describe(name)}: only letters, digits and underscores are allowed`,
		);
	}
	return name;
}

/** A column, or a path through single-valued navigation properties (`primarycontactid/fullname`). */
export function assertPropertyPath(path: string): string {
	if (typeof path !== 'string' || !path.split('/').every((segment) => IDENTIFIER.test(segment))) {
		throw new ODataSyntaxError(
			`Invalid column name ${describe(path)}: only letters, digits and underscores are allowed`,
		);
	}
	return path;
}

/** Normalises a GUID (braces removed, lower case); throws when it is not one. */
export function normalizeGuid(value: unknown): string {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!isGuid(text, { braces: true }))
		throw new ODataSyntaxError(`Invalid GUID ${describe(value)}`);
	return text.replace(/^\{|\}$/g, '').toLowerCase();
}

/** The OData literal for a value of the given type. The only place where literals are escaped. */
export function odataLiteral(value: unknown, type: ODataLiteralType): string {
	switch (type) {
		case 'null':
			if (value !== null && value !== undefined) {
				throw new ODataSyntaxError(`Expected null, got ${describe(value)}`);
			}
			return 'null';
		case 'string':
			if (typeof value !== 'string') {
				throw new ODataSyntaxError(`Expected a string, got ${describe(value)}`);
			}
			return `'${value.replace(/'/g, "''")}'`;
		case 'guid':
			return normalizeGuid(value);
		case 'number': {
			if (typeof value === 'number') {
				if (!Number.isFinite(value)) {
					throw new ODataSyntaxError(`Expected a finite number, got ${describe(value)}`);
				}
				return String(value);
			}
			if (typeof value === 'string' && NUMBER.test(value)) return value;
			throw new ODataSyntaxError(`Expected a number, got ${describe(value)}`);
		}
		case 'boolean':
			if (typeof value === 'boolean') return value ? 'true' : 'false';
			throw new ODataSyntaxError(`Expected a boolean, got ${describe(value)}`);
		case 'datetime': {
			if (value instanceof Date) {
				if (isNaN(value.getTime())) throw new ODataSyntaxError('Invalid date');
				return value.toISOString();
			}
			if (typeof value === 'string' && ISO_DATETIME.test(value) && !isNaN(Date.parse(value))) {
				return value;
			}
			throw new ODataSyntaxError(
				`Expected an ISO 8601 date or date-time with a time zone, got ${describe(value)}`,
			);
		}
		default:
			throw new ODataSyntaxError(`Unknown literal type ${describe(type)}`);
	}
}

/** The literal type a JavaScript value maps to when none is given (GUIDs must be asked for). */
export function inferLiteralType(value: ODataValue): ODataLiteralType {
	if (value === null || value === undefined) return 'null';
	if (typeof value === 'boolean') return 'boolean';
	if (typeof value === 'number') return 'number';
	if (value instanceof Date) return 'datetime';
	return 'string';
}

/** Only this module holds the key, so only the builders below can make a filter. */
const BUILDER_KEY = Symbol('odata-filter-builder');

/** A `$filter` expression built only from checked names and escaped literals. */
export class ODataFilter {
	private readonly expression: string;

	constructor(key: symbol, expression: string) {
		if (key !== BUILDER_KEY) {
			throw new ODataSyntaxError('Filters are made with the filter builder (eq, and, or, ...)');
		}
		this.expression = expression;
	}

	toString(): string {
		return this.expression;
	}
}

function safe(expression: string): ODataFilter {
	return new ODataFilter(BUILDER_KEY, expression);
}

type Comparison = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

function compare(op: Comparison, field: string, value: ODataValue, type?: ODataLiteralType) {
	const literal = odataLiteral(value, type ?? inferLiteralType(value));
	return safe(`${assertPropertyPath(field)} ${op} ${literal}`);
}

export const eq = (field: string, value: ODataValue, type?: ODataLiteralType) =>
	compare('eq', field, value, type);
export const ne = (field: string, value: ODataValue, type?: ODataLiteralType) =>
	compare('ne', field, value, type);
export const gt = (field: string, value: ODataValue, type?: ODataLiteralType) =>
	compare('gt', field, value, type);
export const ge = (field: string, value: ODataValue, type?: ODataLiteralType) =>
	compare('ge', field, value, type);
export const lt = (field: string, value: ODataValue, type?: ODataLiteralType) =>
	compare('lt', field, value, type);
export const le = (field: string, value: ODataValue, type?: ODataLiteralType) =>
	compare('le', field, value, type);

function stringFunction(name: string, field: string, value: string): ODataFilter {
	return safe(`${name}(${assertPropertyPath(field)},${odataLiteral(value, 'string')})`);
}

export const contains = (field: string, value: string) => stringFunction('contains', field, value);
export const startsWith = (field: string, value: string) =>
	stringFunction('startswith', field, value);
export const endsWith = (field: string, value: string) => stringFunction('endswith', field, value);

function combine(operator: 'and' | 'or', filters: ODataFilter[]): ODataFilter {
	const parts = filters.filter((f) => f !== undefined);
	for (const part of parts) {
		if (!(part instanceof ODataFilter)) {
			throw new ODataSyntaxError(`${operator}() accepts only filters made by the filter builder`);
		}
	}
	if (parts.length === 0) throw new ODataSyntaxError(`${operator}() needs at least one filter`);
	if (parts.length === 1) return parts[0];
	return safe(parts.map((p) => `(${p.toString()})`).join(` ${operator} `));
}

export const and = (...filters: ODataFilter[]) => combine('and', filters);
export const or = (...filters: ODataFilter[]) => combine('or', filters);

export function not(filter: ODataFilter): ODataFilter {
	if (!(filter instanceof ODataFilter)) {
		throw new ODataSyntaxError('not() accepts only filters made by the filter builder');
	}
	return safe(`not (${filter.toString()})`);
}

/** `field eq v1 or field eq v2 …`; an empty list matches nothing. */
export function inList(field: string, values: ODataValue[], type?: ODataLiteralType): ODataFilter {
	if (values.length === 0) throw new ODataSyntaxError(`inList(${field}) needs at least one value`);
	return or(...values.map((v) => eq(field, v, type)));
}

/** Encodes a query option value for a URL (spaces as %20, never '+'). */
export function encodeQueryValue(value: string): string {
	return encodeURIComponent(value).replace(/[!'()*]/g, (c) =>
		c === "'" ? "'" : '%' + c.charCodeAt(0).toString(16).toUpperCase(),
	);
}

/**
 * Characters that make retrieve, update and upsert by an alternate key fail when a key value holds
 * them (define-alternate-keys-entity.md, "Unicode characters in key value").
 */
const KEY_URL_REFUSED = /[/<>*%&:\\?+]/;

/** The first character of an alternate-key value that Dataverse refuses in a key URL, if any. */
export function keyUrlProblem(value: ODataValue): string | undefined {
	return typeof value === 'string' ? KEY_URL_REFUSED.exec(value)?.[0] : undefined;
}

/** Can every value of this alternate key go into a key URL? */
export function isKeyUrlSafe(key: Record<string, ODataValue>): boolean {
	return Object.values(key).every((value) => keyUrlProblem(value) === undefined);
}

/**
 * A key segment for a record URL: `(guid)` for a primary key, `(k1='v',k2=2)` for an alternate key.
 * Values are escaped as literals and then URL-encoded, so `#` and quotes stay inside the key. A
 * value Dataverse refuses in a key URL (see `keyUrlProblem`) is refused here: find such a row by
 * `$filter` on its key columns instead.
 */
export function keySegment(key: string | Record<string, ODataValue>): string {
	if (typeof key === 'string') return `(${normalizeGuid(key)})`;
	const entries = Object.entries(key);
	if (entries.length === 0)
		throw new ODataSyntaxError('An alternate key needs at least one column');
	const parts = entries.map(([name, value]) => {
		if (value === null) throw new ODataSyntaxError(`Alternate key column ${name} cannot be null`);
		const refused = keyUrlProblem(value);
		if (refused) {
			throw new ODataSyntaxError(
				`Alternate key column ${name}: the value ${describe(value)} holds '${refused}', which Dataverse does not accept in a key URL`,
			);
		}
		return `${assertIdentifier(name)}=${encodeQueryValue(odataLiteral(value, inferLiteralType(value)))}`;
	});
	return `(${parts.join(',')})`;
}
