/**
 * Apply Field Mapping: which Dynamics column fills which Campaign field, checked against both
 * schemas once, then applied to every record (keys first, values converted to Campaign's types).
 */
import { conversionSupport, converterFor, normalizeCampaignType, type Converter } from './convert';
import type { SyncLink, SyncMeta, SyncRecord, SyncTarget } from './envelope';
import { SyncSettingsError } from './errors';
import {
	CHOICE_TYPES,
	LOOKUP_TYPES,
	columnIndex,
	type CampaignField,
	type DynamicsColumn,
} from './types';
import { hasColumn, readColumn, readLabel, toText } from './values';

export interface FieldMapping {
	dynamicsField: string;
	campaignField: string;
	/** Off: the field is written on initial load and replay only, never on incremental updates. */
	applyUpdates: boolean;
	/**
	 * A Campaign field that is a link: the field of the linked resource holding the Dynamics id of
	 * the looked-up record (empty: `externalId` for a link to profile, see `linkKeyOf`).
	 */
	linkKey?: string;
}

/**
 * The profile field Adobe's integration keys contacts by, and this package's templates use: the
 * key a link to profile finds its record by unless the row names another.
 */
export const PROFILE_LINK_KEY = 'externalId';

/** The linked record's key of a row whose Campaign field links to `target`; empty when unknown. */
export function linkKeyOf(row: FieldMapping, target: string | undefined): string {
	return row.linkKey?.trim() || (target === 'profile' ? PROFILE_LINK_KEY : '');
}

export interface TableMapping {
	dynamicsTable: string;
	/** The table's primary id column (detected, read-only in the UI). */
	dynamicsKey: string;
	campaignResource: string;
	/** The Campaign field holding the Dynamics id (a "CRM ID"). */
	campaignKey: string;
	/**
	 * The Campaign filter that finds records by the key (one parameter); empty: the filter named
	 * after the key. Campaign's metadata does not say which field a custom filter tests.
	 */
	campaignKeyFilter?: string;
	/**
	 * Campaign refuses a second record with the same key (an identification key or unique index an
	 * administrator defined): the user's declaration, since Campaign's metadata does not say it.
	 */
	campaignKeyUnique?: boolean;
	fields: FieldMapping[];
	/** "Use technical values in Microsoft Dynamics 365 picklists?" */
	useTechnicalValues: boolean;
	/** "Apply deletes in Microsoft Dynamics 365 to Campaign?" */
	applyDeletes: boolean;
}

export interface MappingSettingsProblem {
	/** The setting at fault, in the UI's words. */
	setting: string;
	message: string;
}

export interface MappingSchemas {
	dynamicsColumns?: DynamicsColumn[];
	campaignFields?: CampaignField[];
}

export interface MappingError {
	field: string;
	value: unknown;
	message: string;
}

export type MappingResult = { ok: true; record: SyncRecord } | { ok: false; error: MappingError };

export interface CompiledMapping {
	apply(record: SyncRecord): MappingResult;
	target: SyncTarget;
	/** Campaign fields whose "Apply updates" is on. */
	updateFields: string[];
	/** Every Campaign field written, key first. */
	campaignFields: string[];
}

/** The primary-key pair is listed (and applied) first, as in the spec's Field Mappings section. */
function keyRow(mapping: TableMapping): FieldMapping {
	return {
		dynamicsField: mapping.dynamicsKey,
		campaignField: mapping.campaignKey,
		applyUpdates: false,
	};
}

/** Field rows without the one that only repeats the key pair. */
function fieldRows(mapping: TableMapping): FieldMapping[] {
	return mapping.fields.filter(
		(f) => !(f.dynamicsField === mapping.dynamicsKey && f.campaignField === mapping.campaignKey),
	);
}

export function validateTableMapping(
	mapping: TableMapping,
	schemas: MappingSchemas = {},
): MappingSettingsProblem[] {
	const problems: MappingSettingsProblem[] = [];
	const add = (setting: string, message: string) => problems.push({ setting, message });
	const required: Array<[keyof TableMapping, string]> = [
		['dynamicsTable', 'Microsoft Dynamics 365 table'],
		['dynamicsKey', 'Primary Keys › Dynamics key'],
		['campaignResource', 'Campaign table'],
		['campaignKey', 'Primary Keys › Campaign key'],
	];
	for (const [prop, setting] of required) {
		if (!mapping[prop]) add(setting, `${setting} is empty: choose one.`);
	}
	const columns = schemas.dynamicsColumns ? columnIndex(schemas.dynamicsColumns) : undefined;
	const fields = schemas.campaignFields
		? new Map(schemas.campaignFields.map((f) => [f.name, f]))
		: undefined;

	if (fields && mapping.campaignKey) {
		const key = fields.get(mapping.campaignKey);
		if (!key) {
			add(
				'Primary Keys › Campaign key',
				`"${mapping.campaignKey}" is not a field of Campaign resource "${mapping.campaignResource}". Choose the resource's CRM ID field.`,
			);
		}
	}
	if (columns && mapping.dynamicsKey && !columns.has(mapping.dynamicsKey)) {
		add(
			'Primary Keys › Dynamics key',
			`"${mapping.dynamicsKey}" is not a column of Dynamics table "${mapping.dynamicsTable}".`,
		);
	}

	const sourceOf = new Map<string, string>();
	if (mapping.campaignKey) sourceOf.set(mapping.campaignKey, mapping.dynamicsKey);
	fieldRows(mapping).forEach((row, i) => {
		const setting = `Field Mappings › row ${i + 1}`;
		if (!row.dynamicsField || !row.campaignField) {
			add(
				setting,
				`${setting}: choose both a Dynamics field and a Campaign field, or remove the row.`,
			);
			return;
		}
		const earlier = sourceOf.get(row.campaignField);
		if (earlier !== undefined) {
			add(
				setting,
				`Dynamics fields "${earlier}" and "${row.dynamicsField}" both map to Campaign field "${row.campaignField}". You cannot map multiple Dynamics fields to a single Campaign field: remove one of the rows.`,
			);
		} else {
			sourceOf.set(row.campaignField, row.dynamicsField);
		}
		const column = columns?.get(row.dynamicsField);
		if (columns && !column) {
			add(
				setting,
				`"${row.dynamicsField}" is not a column of Dynamics table "${mapping.dynamicsTable}". Choose another field or remove the row.`,
			);
		}
		const field = fields?.get(row.campaignField);
		if (fields && !field) {
			add(
				setting,
				`"${row.campaignField}" is not a field of Campaign resource "${mapping.campaignResource}". Choose another field or remove the row.`,
			);
		}
		const campaignType = field ? normalizeCampaignType(field.type) : undefined;
		if (field && campaignType !== 'link' && row.linkKey?.trim()) {
			add(
				setting,
				`${setting}: Campaign field "${row.campaignField}" is not a link, so it takes no Linked Record Key: clear it.`,
			);
		}
		if (campaignType === 'link' && !field?.target) {
			add(
				setting,
				`Campaign field "${row.campaignField}" is a link, but Campaign's metadata names no resource it links to (resTarget): it cannot be filled.`,
			);
		} else if (campaignType === 'link' && !linkKeyOf(row, field?.target)) {
			add(
				setting,
				`Campaign field "${row.campaignField}" links to "${field?.target}": set the row's Linked Record Key to the field of "${field?.target}" that holds the Dynamics id of the looked-up record.`,
			);
		}
		if (
			column &&
			campaignType &&
			conversionSupport(column.attributeType, campaignType) === 'never'
		) {
			add(
				setting,
				`Dynamics field "${row.dynamicsField}" (${column.attributeType}) cannot be converted to Campaign field "${row.campaignField}" (${field?.type}). Map it to a field of a compatible type.`,
			);
		}
	});
	return problems;
}

interface FieldPlan {
	dynamicsField: string;
	campaignField: string;
	convert: Converter;
}

/** Campaign type unknown: keep the value, but still honour technical vs display values. */
function passThrough(dataverseType: string | undefined, useTechnicalValues: boolean): Converter {
	const display =
		!useTechnicalValues &&
		dataverseType !== undefined &&
		(CHOICE_TYPES.has(dataverseType) || LOOKUP_TYPES.has(dataverseType));
	if (!display) return (value) => ({ ok: true, value: value ?? null });
	return converterFor(dataverseType, 'string', false);
}

/**
 * Compile a table mapping. Throws a `SyncSettingsError` listing every problem when the settings do
 * not validate against the schemas given.
 */
export function compileMapping(
	mapping: TableMapping,
	dynamicsColumns: DynamicsColumn[] = [],
	campaignFields?: CampaignField[],
): CompiledMapping {
	const problems = validateTableMapping(mapping, {
		dynamicsColumns: dynamicsColumns.length > 0 ? dynamicsColumns : undefined,
		campaignFields,
	});
	if (problems.length > 0) {
		throw new SyncSettingsError(
			`The table mapping ${mapping.dynamicsTable || '?'} → ${mapping.campaignResource || '?'} has ${problems.length} problem(s): ${problems.map((p) => p.message).join(' ')}`,
			problems[0].setting,
		);
	}
	const columns = columnIndex(dynamicsColumns);
	const fields = new Map((campaignFields ?? []).map((f) => [f.name, f]));
	const plans: FieldPlan[] = fieldRows(mapping).map((row) => {
		const dataverseType = columns.get(row.dynamicsField)?.attributeType;
		const rawType = fields.get(row.campaignField)?.type;
		const campaignType = rawType === undefined ? undefined : normalizeCampaignType(rawType);
		const convert =
			campaignType === undefined
				? passThrough(dataverseType, mapping.useTechnicalValues)
				: converterFor(dataverseType ?? 'String', campaignType, mapping.useTechnicalValues);
		return { dynamicsField: row.dynamicsField, campaignField: row.campaignField, convert };
	});
	const target: SyncTarget = {
		resource: mapping.campaignResource,
		key: mapping.campaignKey,
		dynamicsKey: mapping.dynamicsKey,
		applyDeletes: mapping.applyDeletes,
	};
	if (mapping.campaignKeyFilter) target.keyFilter = mapping.campaignKeyFilter;
	if (mapping.campaignKeyUnique) target.keyUnique = true;
	const links: Record<string, SyncLink> = {};
	for (const row of fieldRows(mapping)) {
		const field = fields.get(row.campaignField);
		if (!field?.target || normalizeCampaignType(field.type) !== 'link') continue;
		links[row.campaignField] = {
			resource: field.target,
			key: linkKeyOf(row, field.target),
			dynamicsField: row.dynamicsField,
		};
	}
	if (Object.keys(links).length) target.links = links;
	const updateFields = fieldRows(mapping)
		.filter((row) => row.applyUpdates)
		.map((row) => row.campaignField);
	const key = keyRow(mapping);

	// A record re-read for added columns updates the fields mapped from them, whatever their
	// "Apply updates": rows synced before the column was read have never had these values.
	const meta = (source: SyncMeta): SyncMeta => {
		const added = source.addedColumns;
		if (!added?.length) return { ...source, target, updateFields };
		const fromAdded = fieldRows(mapping)
			.filter((row) => added.includes(row.dynamicsField))
			.map((row) => row.campaignField);
		return { ...source, target, updateFields: [...new Set([...updateFields, ...fromAdded])] };
	};
	const error = (
		record: SyncRecord,
		field: string,
		value: unknown,
		why: string,
	): MappingResult => ({
		ok: false,
		error: {
			field,
			value,
			message: `Record ${record._sync.id} of table "${record._sync.table}", field "${field}": ${why}`,
		},
	});

	const apply = (record: SyncRecord): MappingResult => {
		const rawKey = readColumn(record, key.dynamicsField) ?? record._sync.id;
		if (rawKey === null || rawKey === undefined || rawKey === '') {
			return error(record, key.dynamicsField, rawKey, 'the primary key is empty.');
		}
		// Built flat first so `_sync` stays the last key, as in every other item.
		const out: Record<string, unknown> = { [key.campaignField]: toText(rawKey) };
		if (record._sync.op === 'delete') {
			out._sync = meta(record._sync);
			return { ok: true, record: out as SyncRecord };
		}
		const labels = record._sync.labels;
		for (const plan of plans) {
			if (!hasColumn(record, plan.dynamicsField)) {
				return error(
					record,
					plan.dynamicsField,
					undefined,
					`the record has no such field. Select the column "${plan.dynamicsField}" in the Dynamics Trigger.`,
				);
			}
			const value = readColumn(record, plan.dynamicsField);
			const result = plan.convert(value, readLabel(labels, plan.dynamicsField));
			if (!result.ok) {
				return error(
					record,
					plan.dynamicsField,
					value,
					`${result.reason} (Campaign field "${plan.campaignField}").`,
				);
			}
			out[plan.campaignField] = result.value;
		}
		out._sync = meta(record._sync);
		return { ok: true, record: out as SyncRecord };
	};

	return {
		apply,
		target,
		updateFields,
		campaignFields: [key.campaignField, ...plans.map((p) => p.campaignField)],
	};
}
