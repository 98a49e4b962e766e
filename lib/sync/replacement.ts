/**
 * Field Replacement: (Dynamics field, existing value, new value) rules. When a record's field holds
 * the existing value (compared type-aware: "2" matches 2, "true" matches true, a picklist label
 * matches its option), the new value is written to Campaign instead.
 *
 * Labels: the new value is meant for Campaign as typed, in both picklist modes. So the field's
 * display label in `_sync.labels` is replaced too: by the option's label when the new value is an
 * option of the column (known from metadata), else by the new value's text. A stale label never
 * survives a replacement.
 */
import { cloneRecord, type SyncRecord } from './envelope';
import { SyncSettingsError, describeValue } from './errors';
import {
	CHOICE_TYPES,
	LOOKUP_TYPES,
	NUMBER_TYPES,
	columnIndex,
	type DynamicsColumn,
} from './types';
import {
	foldText,
	parseBoolean,
	parseNumber,
	readColumn,
	readLabel,
	sameValue,
	toText,
} from './values';

export interface Replacement {
	field: string;
	existingValue: unknown;
	newValue: unknown;
}

export interface ReplacementContext {
	/** Dynamics fields of the table mapping; a replacement must name one of them. */
	mappedFields?: string[];
	/** Column metadata: types and options make the new value typed and its label known. */
	columns?: DynamicsColumn[];
}

export interface CompiledReplacements {
	/** The record with replacements applied: the same object when none applied, else a copy. */
	apply(record: SyncRecord): SyncRecord;
	/** Which fields a record would have replaced (for reporting). */
	matching(record: SyncRecord): string[];
}

interface Rule {
	field: string;
	matches(value: unknown, label: string | undefined): boolean;
	newValue: unknown;
	newLabel: string | undefined;
}

function typedNewValue(
	raw: unknown,
	column: DynamicsColumn | undefined,
	example?: unknown,
): unknown {
	const type = column?.attributeType;
	const numeric = type
		? NUMBER_TYPES.has(type) || CHOICE_TYPES.has(type)
		: typeof example === 'number';
	if (numeric) return parseNumber(raw) ?? raw;
	const boolean = type ? type === 'Boolean' : typeof example === 'boolean';
	if (boolean) return parseBoolean(raw) ?? raw;
	return raw;
}

function compileRule(rule: Replacement, column: DynamicsColumn | undefined): Rule {
	const existingFolded = foldText(toText(rule.existingValue));
	const existingIsNumber = parseNumber(rule.existingValue) !== undefined;
	const existingIsBoolean = parseBoolean(rule.existingValue) !== undefined;
	const newValue = typedNewValue(rule.newValue, column);
	const option = column?.options?.find((o) => sameValue(o.value, newValue));
	// A lookup holds a GUID, which Dataverse compares without regard to case.
	const lookup = column !== undefined && LOOKUP_TYPES.has(column.attributeType);
	return {
		field: rule.field,
		matches(value, label) {
			if (sameValue(value, rule.existingValue)) return true;
			if (lookup && typeof value === 'string' && value.toLowerCase() === existingFolded) {
				return true;
			}
			// A picklist or boolean named by its label ("Female", "Do Not Allow").
			return (
				label !== undefined &&
				!existingIsNumber &&
				!existingIsBoolean &&
				foldText(label) === existingFolded
			);
		},
		newValue,
		newLabel: option ? option.label : toText(rule.newValue),
	};
}

export function compileReplacements(
	rules: Replacement[],
	context: ReplacementContext = {},
): CompiledReplacements {
	const mapped = context.mappedFields ? new Set(context.mappedFields) : undefined;
	const columns = columnIndex(context.columns);
	const problems: string[] = [];
	rules.forEach((rule, i) => {
		const where = `Field Replacements › row ${i + 1}`;
		if (!rule.field) problems.push(`${where}: choose a Dynamics field.`);
		else if (mapped && !mapped.has(rule.field)) {
			problems.push(
				`${where}: "${rule.field}" is not a mapped Dynamics field. A replacement must name a field added in Field Mappings.`,
			);
		} else if (context.columns && !columns.has(rule.field)) {
			problems.push(`${where}: "${rule.field}" is not a column of the table.`);
		}
		const duplicate = rules.findIndex(
			(r, j) => j < i && r.field === rule.field && sameValue(r.existingValue, rule.existingValue),
		);
		if (duplicate >= 0) {
			problems.push(
				`${where}: rows ${duplicate + 1} and ${i + 1} both replace ${describeValue(rule.existingValue)} in "${rule.field}". Keep one.`,
			);
		}
	});
	if (problems.length > 0) throw new SyncSettingsError(problems.join(' '), 'Field Replacements');

	const compiled = rules.map((rule) => {
		const column = columns.get(rule.field);
		return compileRule(rule, column);
	});

	const firstMatch = (record: SyncRecord, i: number): boolean => {
		const rule = compiled[i];
		return rule.matches(readColumn(record, rule.field), readLabel(record._sync.labels, rule.field));
	};

	return {
		matching(record) {
			const fields: string[] = [];
			for (let i = 0; i < compiled.length; i++)
				if (firstMatch(record, i)) fields.push(compiled[i].field);
			return fields;
		},
		apply(record) {
			if (record._sync.op === 'delete') return record;
			let out: SyncRecord | undefined;
			const done = new Set<string>();
			for (let i = 0; i < compiled.length; i++) {
				const rule = compiled[i];
				// Rules see the source value: one replacement never feeds another.
				if (done.has(rule.field) || !firstMatch(record, i)) continue;
				out ??= cloneRecord(record);
				const current = readColumn(record, rule.field);
				const key =
					rule.field in record || !(`_${rule.field}_value` in record)
						? rule.field
						: `_${rule.field}_value`;
				out[key] = columns.has(rule.field)
					? rule.newValue
					: typedNewValue(rule.newValue, undefined, current);
				out._sync.labels ??= {};
				delete out._sync.labels[`_${rule.field}_value`];
				if (rule.newLabel !== undefined) out._sync.labels[rule.field] = rule.newLabel;
				// The new value is no longer known to be a row of the table the lookup pointed to.
				if (out._sync.lookupTables) delete out._sync.lookupTables[rule.field];
				done.add(rule.field);
			}
			return out ?? record;
		},
	};
}
