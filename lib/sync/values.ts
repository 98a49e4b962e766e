/**
 * Type-aware reading and comparison of values, shared by the filter, the replacements and the
 * upsert plan so that "2" matches 2 and two spellings of one instant are equal everywhere alike.
 */

const ISO_DATE =
	/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const NON_ASCII = /[\u0080-\uffff]/;
const COMBINING_MARKS = /[\u0300-\u036f]/g;

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

/** A Dataverse id: a GUID in its 8-4-4-4-12 hex form (any case), without braces. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` is a GUID; with `braces`, also in the `{…}` form that Dataverse accepts. */
export function isGuid(text: string, options: { braces?: boolean } = {}): boolean {
	const bare = options.braces && /^\{.*\}$/.test(text) ? text.slice(1, -1) : text;
	return GUID_PATTERN.test(bare);
}

export function isEmptyValue(value: unknown): boolean {
	return value === null || value === undefined || value === '';
}

/** A finite number from a number or a plain decimal string (no hex, no blanks). */
export function parseNumber(value: unknown): number | undefined {
	if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
	if (typeof value === 'string') {
		const text = value.trim();
		return NUMERIC.test(text) ? Number(text) : undefined;
	}
	return undefined;
}

/** true/false/yes/no/1/0 in any case, booleans and the numbers 1 and 0. */
export function parseBoolean(value: unknown): boolean | undefined {
	if (typeof value === 'boolean') return value;
	if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : undefined;
	if (typeof value === 'string') {
		const word = value.trim().toLowerCase();
		if (TRUE_WORDS.has(word)) return true;
		if (FALSE_WORDS.has(word)) return false;
	}
	return undefined;
}

/**
 * Milliseconds since the epoch for an ISO 8601 date or date-time. A date without a zone is read as
 * UTC (Dataverse always answers in UTC; the machine's zone must never leak in).
 */
export function parseInstant(value: unknown): number | undefined {
	if (value instanceof Date) {
		const ms = value.getTime();
		return Number.isNaN(ms) ? undefined : ms;
	}
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	const m = ISO_DATE.exec(text);
	if (!m) return undefined;
	let iso = text.replace(' ', 'T');
	if (m[4] !== undefined && m[7] === undefined) iso += 'Z';
	const ms = Date.parse(iso);
	return Number.isNaN(ms) ? undefined : ms;
}

/** Is this string an ISO date or date-time (and not, say, a postcode)? */
export function looksLikeInstant(value: unknown): boolean {
	return typeof value === 'string' && ISO_DATE.test(value.trim());
}

/**
 * Text folded the way Dataverse compares it by default (collation Latin1_General_CI_AI): case and
 * accents ignored.
 */
export function foldText(text: string): string {
	const lower = text.toLowerCase();
	return NON_ASCII.test(lower) ? lower.normalize('NFD').replace(COMBINING_MARKS, '') : lower;
}

export function toText(value: unknown): string {
	if (typeof value === 'string') return value;
	if (value === null || value === undefined) return '';
	if (typeof value === 'object') return JSON.stringify(value);
	return String(value);
}

/** -1, 0 or 1; never NaN. */
export function compareNumbers(a: number, b: number): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

export function compareText(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Equality across the shapes one value takes on its way between the two systems: numbers vs
 * numeric strings, booleans vs "true"/"yes"/"1", two spellings of one instant, null vs "" (Campaign
 * answers "" for an empty text field). Text compares exactly: a case change is a change to write.
 */
export function sameValue(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (isEmptyValue(a) || isEmptyValue(b)) return isEmptyValue(a) && isEmptyValue(b);
	if (typeof a === 'boolean' || typeof b === 'boolean') {
		const x = parseBoolean(a);
		return x !== undefined && x === parseBoolean(b);
	}
	if (typeof a === 'number' || typeof b === 'number') {
		const x = parseNumber(a);
		return x !== undefined && x === parseNumber(b);
	}
	if (typeof a === 'string' && typeof b === 'string') {
		if (looksLikeInstant(a) && looksLikeInstant(b)) {
			const x = parseInstant(a);
			return x !== undefined && x === parseInstant(b);
		}
		return false;
	}
	if (typeof a === 'object' && typeof b === 'object')
		return JSON.stringify(a) === JSON.stringify(b);
	return false;
}

/**
 * The value a Dataverse record holds for a column. Lookups are read as `_<column>_value`, so a
 * setting naming `parentcustomerid` finds `_parentcustomerid_value`.
 */
export function hasColumn(record: Record<string, unknown>, column: string): boolean {
	return column in record || `_${column}_value` in record;
}

export function readColumn(record: Record<string, unknown>, column: string): unknown {
	if (column in record) return record[column];
	return record[`_${column}_value`];
}

export function readLabel(
	labels: Record<string, string> | undefined,
	column: string,
): string | undefined {
	if (!labels) return undefined;
	return labels[column] ?? labels[`_${column}_value`];
}
