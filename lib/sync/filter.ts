/**
 * Record Filter: which Dynamics records go on to Campaign. Compile the rules once, apply them to
 * every record. Comparisons follow Dataverse's own `$filter` semantics where they differ from
 * JavaScript's: text ignores case and accents, a missing value matches only "is empty" and "not
 * equals".
 */
import { cloneRecord, type SyncRecord } from './envelope';
import { SyncSettingsError, describeValue } from './errors';
import {
	CHOICE_TYPES,
	DATE_TYPES,
	LOOKUP_TYPES,
	NUMBER_TYPES,
	columnIndex,
	type DynamicsColumn,
} from './types';
import {
	compareNumbers,
	compareText,
	foldText,
	hasColumn,
	isEmptyValue,
	isGuid,
	looksLikeInstant,
	parseBoolean,
	parseInstant,
	parseNumber,
	readColumn,
	readLabel,
	toText,
} from './values';

export type FilterComparison =
	| 'equals'
	| 'notEquals'
	| 'greater'
	| 'greaterOrEqual'
	| 'less'
	| 'lessOrEqual'
	| 'contains'
	| 'startsWith'
	| 'endsWith'
	| 'isEmpty'
	| 'isNotEmpty';

export const FILTER_COMPARISONS: readonly FilterComparison[] = [
	'equals',
	'notEquals',
	'greater',
	'greaterOrEqual',
	'less',
	'lessOrEqual',
	'contains',
	'startsWith',
	'endsWith',
	'isEmpty',
	'isNotEmpty',
];

export interface FilterRule {
	field: string;
	comparison: FilterComparison;
	/** Ignored by isEmpty / isNotEmpty. */
	value?: unknown;
}

export type FilterCombinator = 'and' | 'or';

export interface FilterSettings {
	rules: FilterRule[];
	combinator: FilterCombinator;
	/** "Do you want to delete records in Campaign that will be filtered out?" */
	deleteFilteredOut: boolean;
	/** The table's columns; when given, rules are checked against them at compile time. */
	columns?: DynamicsColumn[];
}

export type FilterOutcome =
	/** Kept as is (the same object); source deletes always pass. */
	| { kind: 'pass'; record: SyncRecord }
	/** Filtered out and turned into a delete (a new object; `_sync.filteredOut` is true). */
	| { kind: 'delete'; record: SyncRecord; reason: string }
	/** Filtered out and dropped: the original record, so a node can count or report it. */
	| { kind: 'drop'; record: SyncRecord; reason: string };

export interface FilterResult {
	/** Records for the next node: passed ones and filtered-out ones turned into deletes. */
	output: SyncRecord[];
	dropped: Array<{ record: SyncRecord; reason: string }>;
	filteredOutAsDelete: number;
}

export interface CompiledFilter {
	/** Do the record's values satisfy the rules? */
	matches(record: SyncRecord): boolean;
	apply(record: SyncRecord): FilterOutcome;
	applyAll(records: readonly SyncRecord[]): FilterResult;
}

type ValueKind = 'number' | 'date' | 'boolean' | 'choice' | 'lookup' | 'text' | 'auto';

/** One rule's value, parsed every way it might be needed, once. */
interface RuleValue {
	num: number | undefined;
	instant: number | undefined;
	bool: boolean | undefined;
	folded: string;
	/** The value is a GUID (a lookup rule then names the related row by id). */
	guid: boolean;
}

interface CompiledRule {
	field: string;
	describe: string;
	test(record: SyncRecord): boolean;
}

const COMPARISON_WORDS: Record<FilterComparison, string> = {
	equals: 'equals',
	notEquals: 'not equals',
	greater: 'greater than',
	greaterOrEqual: 'greater than or equal to',
	less: 'less than',
	lessOrEqual: 'less than or equal to',
	contains: 'contains',
	startsWith: 'starts with',
	endsWith: 'ends with',
	isEmpty: 'is empty',
	isNotEmpty: 'is not empty',
};

function kindOf(column: DynamicsColumn | undefined): ValueKind {
	if (!column) return 'auto';
	const type = column.attributeType;
	if (NUMBER_TYPES.has(type)) return 'number';
	if (DATE_TYPES.has(type)) return 'date';
	if (type === 'Boolean') return 'boolean';
	if (CHOICE_TYPES.has(type)) return 'choice';
	if (LOOKUP_TYPES.has(type)) return 'lookup';
	return 'text';
}

/** -1, 0, 1, or undefined when the two cannot be ordered (e.g. the record has no value). */
function order(kind: ValueKind, value: unknown, label: string | undefined, rule: RuleValue) {
	if (isEmptyValue(value)) return undefined;
	switch (kind) {
		case 'number': {
			const n = parseNumber(value);
			return n === undefined || rule.num === undefined ? undefined : compareNumbers(n, rule.num);
		}
		case 'date': {
			const t = parseInstant(value);
			return t === undefined || rule.instant === undefined
				? undefined
				: compareNumbers(t, rule.instant);
		}
		case 'boolean': {
			const b = parseBoolean(value);
			if (rule.bool !== undefined && b !== undefined) return compareNumbers(+b, +rule.bool);
			return compareText(foldText(label ?? toText(value)), rule.folded);
		}
		case 'choice': {
			// Technical value when the rule gives a number, else the display label.
			if (rule.num !== undefined) {
				const n = parseNumber(value);
				return n === undefined ? undefined : compareNumbers(n, rule.num);
			}
			return compareText(foldText(label ?? toText(value)), rule.folded);
		}
		case 'lookup':
			// A GUID names the related row; other text its display name (its primary name).
			if (rule.guid)
				return compareText(foldText(toText(value)), rule.folded.trim().replace(/[{}]/g, ''));
			return compareText(foldText(label ?? toText(value)), rule.folded);
		case 'text':
			return compareText(foldText(toText(value)), rule.folded);
		case 'auto':
			if (typeof value === 'number')
				return order(label && rule.num === undefined ? 'choice' : 'number', value, label, rule);
			if (typeof value === 'boolean') return order('boolean', value, label, rule);
			if (rule.instant !== undefined && looksLikeInstant(value))
				return order('date', value, label, rule);
			return order('text', value, label, rule);
	}
}

function textSubject(value: unknown, label: string | undefined, rule: RuleValue): string {
	const useLabel = label !== undefined && rule.num === undefined && rule.bool === undefined;
	return foldText(useLabel ? label : toText(value));
}

function parseRuleValue(value: unknown): RuleValue {
	return {
		num: parseNumber(value),
		instant: parseInstant(value),
		bool: parseBoolean(value),
		folded: foldText(toText(value)),
		guid: isGuid(toText(value).trim(), { braces: true }),
	};
}

function checkRuleValue(rule: FilterRule, index: number, kind: ValueKind, parsed: RuleValue) {
	const where = `Filters › rule ${index + 1} (${rule.field})`;
	const ordering = ['greater', 'greaterOrEqual', 'less', 'lessOrEqual'].includes(rule.comparison);
	if (kind === 'number' && ordering && parsed.num === undefined) {
		throw new SyncSettingsError(
			`${where}: "${rule.field}" is a number column but the value ${describeValue(rule.value)} is not a number. Enter a number such as 100 or 12.5.`,
			where,
		);
	}
	const exact = rule.comparison === 'equals' || rule.comparison === 'notEquals';
	if (kind === 'date' && (ordering || exact) && parsed.instant === undefined) {
		throw new SyncSettingsError(
			`${where}: "${rule.field}" is a date column but the value ${describeValue(rule.value)} is not a date. Enter an ISO date such as 2024-05-31 or 2024-05-31T08:00:00Z.`,
			where,
		);
	}
}

function compileRule(
	rule: FilterRule,
	index: number,
	columns: Map<string, DynamicsColumn> | undefined,
): CompiledRule {
	const { field, comparison } = rule;
	const where = `Filters › rule ${index + 1}`;
	if (!field || typeof field !== 'string') {
		throw new SyncSettingsError(`${where}: choose a Dynamics field.`, where);
	}
	if (!FILTER_COMPARISONS.includes(comparison)) {
		throw new SyncSettingsError(
			`${where} (${field}): unknown comparison ${describeValue(comparison)}. Use one of: ${FILTER_COMPARISONS.join(', ')}.`,
			where,
		);
	}
	const column = columns?.get(field);
	if (columns && !column) {
		throw new SyncSettingsError(
			`${where}: the field "${field}" is not a column of this table. Pick one of the table's columns.`,
			where,
		);
	}
	const kind = kindOf(column);
	const rv = parseRuleValue(rule.value);
	if (comparison !== 'isEmpty' && comparison !== 'isNotEmpty')
		checkRuleValue(rule, index, kind, rv);

	const describe = `${field} ${COMPARISON_WORDS[comparison]}${
		comparison === 'isEmpty' || comparison === 'isNotEmpty' ? '' : ` ${describeValue(rule.value)}`
	}`;
	// A column that was not read is unknown, never empty: judging it would drop or delete records
	// on a value nobody saw. The run stops before anything is written.
	const read = (record: SyncRecord): unknown => {
		if (!hasColumn(record, field)) {
			throw new SyncSettingsError(
				`${where}: record ${record._sync.id} of table "${record._sync.table}" has no value for "${field}" because the column was not read. Add "${field}" to the Dynamics 365 Trigger's Columns (or leave Columns empty to read every column).`,
				where,
			);
		}
		return readColumn(record, field);
	};
	const label = (record: SyncRecord) => readLabel(record._sync.labels, field);
	const cmp = (record: SyncRecord) => order(kind, read(record), label(record), rv);
	const text = (record: SyncRecord): string | undefined => {
		const value = read(record);
		return isEmptyValue(value) ? undefined : textSubject(value, label(record), rv);
	};

	let test: (record: SyncRecord) => boolean;
	switch (comparison) {
		case 'equals':
			test = (r) => cmp(r) === 0;
			break;
		case 'notEquals':
			// As in Dataverse, a record without a value is "not equal" to any value.
			test = (r) => cmp(r) !== 0;
			break;
		case 'greater':
			test = (r) => cmp(r) === 1;
			break;
		case 'greaterOrEqual':
			test = (r) => {
				const c = cmp(r);
				return c === 1 || c === 0;
			};
			break;
		case 'less':
			test = (r) => cmp(r) === -1;
			break;
		case 'lessOrEqual':
			test = (r) => {
				const c = cmp(r);
				return c === -1 || c === 0;
			};
			break;
		case 'contains':
			test = (r) => text(r)?.includes(rv.folded) ?? false;
			break;
		case 'startsWith':
			test = (r) => text(r)?.startsWith(rv.folded) ?? false;
			break;
		case 'endsWith':
			test = (r) => text(r)?.endsWith(rv.folded) ?? false;
			break;
		case 'isEmpty':
			test = (r) => isEmptyValue(read(r));
			break;
		case 'isNotEmpty':
			test = (r) => !isEmptyValue(read(r));
			break;
	}
	return { field, describe, test };
}

export function compileFilter(settings: FilterSettings): CompiledFilter {
	const columns = settings.columns ? columnIndex(settings.columns) : undefined;
	const rules = settings.rules.map((rule, i) => compileRule(rule, i, columns));
	if (settings.combinator !== 'and' && settings.combinator !== 'or') {
		throw new SyncSettingsError(
			`Filters: the filter comparison operator must be "and" or "or", not ${describeValue(settings.combinator)}.`,
			'Choose the filter comparison operator',
		);
	}

	const isAnd = settings.combinator === 'and';

	/** undefined when the record passes, else why it does not. */
	const failure = (record: SyncRecord): string | undefined => {
		if (rules.length === 0) return undefined;
		if (isAnd) {
			for (let i = 0; i < rules.length; i++) {
				if (!rules[i].test(record))
					return `filtered out: rule ${i + 1} (${rules[i].describe}) is false`;
			}
			return undefined;
		}
		for (const rule of rules) if (rule.test(record)) return undefined;
		return 'filtered out: no filter rule is true';
	};

	const apply = (record: SyncRecord): FilterOutcome => {
		if (record._sync.op === 'delete') return { kind: 'pass', record };
		const reason = failure(record);
		if (reason === undefined) return { kind: 'pass', record };
		if (!settings.deleteFilteredOut) return { kind: 'drop', record, reason };
		const copy = cloneRecord(record);
		copy._sync.op = 'delete';
		copy._sync.filteredOut = true;
		copy._sync.reason = reason;
		return { kind: 'delete', record: copy, reason };
	};

	return {
		matches: (record) => failure(record) === undefined,
		apply,
		applyAll(records) {
			const result: FilterResult = { output: [], dropped: [], filteredOutAsDelete: 0 };
			for (const record of records) {
				const outcome = apply(record);
				if (outcome.kind === 'drop') {
					result.dropped.push({ record, reason: outcome.reason });
					continue;
				}
				if (outcome.kind === 'delete') result.filteredOutAsDelete++;
				result.output.push(outcome.record);
			}
			return result;
		},
	};
}

/** One-shot convenience: compile and apply. Nodes with many items should compile once instead. */
