/**
 * Type conversion from Dataverse column values to Campaign field values: the one place that knows
 * which pairs of types can meet and how. A converter is chosen once per mapped field, then applied
 * to every record.
 */
import { describeValue } from './errors';
import {
	CHOICE_TYPES,
	DATE_TYPES,
	LOOKUP_TYPES,
	NUMBER_TYPES,
	type CampaignFieldType,
} from './types';
import { parseBoolean, parseInstant, parseNumber, toText } from './values';

export type ConvertResult = { ok: true; value: unknown } | { ok: false; reason: string };

/** value: the column's raw value; label: its display value, when Dataverse gave one. */
export type Converter = (value: unknown, label: string | undefined) => ConvertResult;

/** always: every value converts; perValue: some values may fail; never: a settings error. */
export type ConversionSupport = 'always' | 'perValue' | 'never';

type SourceKind = 'text' | 'integer' | 'decimal' | 'boolean' | 'date' | 'choice' | 'lookup';

const CAMPAIGN_TYPE_ALIASES: Record<string, CampaignFieldType> = {
	string: 'string',
	text: 'string',
	memo: 'string',
	uuid: 'string',
	html: 'string',
	email: 'string',
	int: 'int',
	integer: 'int',
	int32: 'int',
	short: 'int',
	int16: 'int',
	byte: 'int',
	int8: 'int',
	long: 'long',
	int64: 'long',
	double: 'double',
	number: 'double',
	float: 'float',
	boolean: 'boolean',
	bool: 'boolean',
	date: 'date',
	datetime: 'datetime',
	timestamp: 'datetime',
	datetimenotz: 'datetime',
	enum: 'enum',
	enumeration: 'enum',
	link: 'link',
};

/** Campaign metadata spells types several ways; undefined when the type is not one we write. */
export function normalizeCampaignType(raw: string): CampaignFieldType | undefined {
	return CAMPAIGN_TYPE_ALIASES[raw.trim().toLowerCase()];
}

function sourceKind(type: string): SourceKind {
	if (type === 'Integer' || type === 'BigInt') return 'integer';
	if (NUMBER_TYPES.has(type)) return 'decimal';
	if (type === 'Boolean') return 'boolean';
	if (DATE_TYPES.has(type)) return 'date';
	if (CHOICE_TYPES.has(type)) return 'choice';
	if (LOOKUP_TYPES.has(type)) return 'lookup';
	return 'text';
}

const SUPPORT: Record<SourceKind, Record<CampaignFieldType, ConversionSupport>> = {
	text: {
		string: 'always',
		enum: 'always',
		int: 'perValue',
		long: 'perValue',
		double: 'perValue',
		float: 'perValue',
		boolean: 'perValue',
		date: 'perValue',
		datetime: 'perValue',
		link: 'always',
	},
	integer: {
		string: 'always',
		enum: 'always',
		int: 'perValue',
		long: 'always',
		double: 'always',
		float: 'always',
		boolean: 'perValue',
		date: 'never',
		datetime: 'never',
		link: 'never',
	},
	decimal: {
		string: 'always',
		enum: 'always',
		int: 'perValue',
		long: 'perValue',
		double: 'always',
		float: 'always',
		boolean: 'never',
		date: 'never',
		datetime: 'never',
		link: 'never',
	},
	boolean: {
		string: 'always',
		enum: 'always',
		int: 'always',
		long: 'always',
		double: 'always',
		float: 'always',
		boolean: 'always',
		date: 'never',
		datetime: 'never',
		link: 'never',
	},
	date: {
		string: 'always',
		enum: 'never',
		int: 'never',
		long: 'never',
		double: 'never',
		float: 'never',
		boolean: 'never',
		date: 'always',
		datetime: 'always',
		link: 'never',
	},
	choice: {
		string: 'always',
		enum: 'always',
		int: 'always',
		long: 'always',
		double: 'always',
		float: 'always',
		boolean: 'perValue',
		date: 'never',
		datetime: 'never',
		link: 'never',
	},
	lookup: {
		string: 'always',
		enum: 'always',
		int: 'never',
		long: 'never',
		double: 'never',
		float: 'never',
		boolean: 'never',
		date: 'never',
		datetime: 'never',
		link: 'always',
	},
};

export function conversionSupport(
	dataverseType: string,
	campaignType: CampaignFieldType,
): ConversionSupport {
	return SUPPORT[sourceKind(dataverseType)][campaignType];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const fail = (value: unknown, target: string, why: string): ConvertResult => ({
	ok: false,
	reason: `cannot convert ${describeValue(value)} to Campaign type ${target}: ${why}`,
});

function integer(target: 'int' | 'long'): Converter {
	return (value) => {
		const n = typeof value === 'boolean' ? +value : parseNumber(value);
		if (n === undefined) return fail(value, target, 'not a number');
		if (!Number.isInteger(n)) return fail(value, target, 'it has a fractional part');
		const inRange = target === 'int' ? n >= INT32_MIN && n <= INT32_MAX : Number.isSafeInteger(n);
		return inRange ? { ok: true, value: n } : fail(value, target, 'out of range');
	};
}

function decimal(target: 'double' | 'float'): Converter {
	return (value) => {
		const n = typeof value === 'boolean' ? +value : parseNumber(value);
		return n === undefined ? fail(value, target, 'not a number') : { ok: true, value: n };
	};
}

const toBoolean: Converter = (value) => {
	const b = parseBoolean(value);
	return b === undefined
		? fail(value, 'boolean', 'expected true/false, yes/no or 1/0')
		: { ok: true, value: b };
};

const toDate: Converter = (value) => {
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return { ok: true, value };
	const t = parseInstant(value);
	return t === undefined
		? fail(value, 'date', 'not an ISO date')
		: { ok: true, value: new Date(t).toISOString().slice(0, 10) };
};

const toDateTime: Converter = (value) => {
	const t = parseInstant(value);
	return t === undefined
		? fail(value, 'datetime', 'not an ISO date-time')
		: { ok: true, value: new Date(t).toISOString() };
};

/** Text as is; a list or an object (e.g. from a Code node in between) is not text. */
const plainText: Converter = (value) =>
	value !== null && typeof value === 'object'
		? fail(
				value,
				'string',
				Array.isArray(value) ? 'it is a list, not text' : 'it is an object, not text',
			)
		: { ok: true, value: toText(value) };

function displayText(dataverseType: string, required: boolean): Converter {
	return (value, label) => {
		if (label !== undefined) return { ok: true, value: label };
		if (!required) return { ok: true, value: toText(value) };
		return {
			ok: false,
			reason: `no display value for ${describeValue(value)} (${dataverseType}): the Dynamics Trigger must read formatted values, or switch "Use technical values" on`,
		};
	};
}

/**
 * The converter for one mapped field. Display values (useTechnicalValues off) apply to text and
 * enumeration targets; numeric targets of a choice column always get the technical value, since a
 * label cannot go into a number field. Empty values (null, undefined) always become null.
 */
export function converterFor(
	dataverseType: string,
	campaignType: CampaignFieldType,
	useTechnicalValues: boolean,
): Converter {
	const kind = sourceKind(dataverseType);
	let convert: Converter;
	switch (campaignType) {
		case 'string':
		case 'enum':
			if (!useTechnicalValues && (kind === 'choice' || kind === 'lookup')) {
				convert = displayText(dataverseType, true);
			} else if (!useTechnicalValues && kind === 'boolean') {
				convert = displayText(dataverseType, false);
			} else if (kind === 'date') {
				convert = (value) => ({ ok: true, value: toText(value) });
			} else {
				convert = plainText;
			}
			break;
		case 'int':
		case 'long':
			convert = integer(campaignType);
			break;
		case 'double':
		case 'float':
			convert = decimal(campaignType);
			break;
		case 'boolean':
			convert = toBoolean;
			break;
		case 'date':
			convert = toDate;
			break;
		case 'datetime':
			convert = toDateTime;
			break;
		case 'link':
			// The looked-up record's id (never its display name): Campaign Upsert finds the linked
			// Campaign record by it and writes that record's PKey.
			convert = plainText;
			break;
	}
	return (value, label) =>
		value === null || value === undefined ? { ok: true, value: null } : convert(value, label);
}
