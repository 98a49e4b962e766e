/**
 * The in-memory tables of the Campaign sandbox: records keyed by an opaque PKey, value indexes for
 * filters and unique fields, cached sort orders and keyset paging, so 20,000+ records stay fast.
 */
import { SandboxHttpError, seededRandom } from '../common/server';
import {
	READ_ONLY_FIELDS,
	SYSTEM_FIELDS,
	defaultResources,
	filterParam,
	type FieldDefinition,
	type FilterDefinition,
	type ResourceDefinition,
} from './schema';

export type Value = string | number | boolean | null;

export interface StoredRecord {
	/** Insertion order; the default sort order and the last tie-breaker of every order. */
	seq: number;
	pkey: string;
	values: Record<string, Value>;
}

/** A value as error messages show it: long values are cut, as the real service does. */
export function shortValue(raw: unknown): string {
	const json = JSON.stringify(raw) ?? String(raw);
	return json.length > 100 ? `${json.slice(0, 60)}… (${json.length} characters)` : json;
}

/** Campaign's generic REST error code; the message says what was wrong. */
export const RST = 'RST-360011';
/**
 * What Campaign Standard says before every REST failure (experience-cloud.en
 * help/campaign/api/limitations.md, "Error codes and messages").
 */
export const GENERIC_FAILURE =
	'RST-360011 An error has occurred - please contact your administrator.';

/** A Campaign REST failure: the generic sentence, then the cause. */
export function restError(status: number, cause: string): SandboxHttpError {
	return new SandboxHttpError(status, RST, `${GENERIC_FAILURE} ${cause}`);
}

/**
 * A request the sandbox cannot read (malformed JSON, a bad `_lineCount`): Adobe does not document
 * these answers; the sandbox answers 400 (an assumption listed in sandbox/README.md).
 */
export function badRequest(message: string): SandboxHttpError {
	return restError(400, message);
}

/**
 * A value Campaign refuses: 500 with its message (Adobe's table of messages shows 500 for an
 * invalid enumeration value and for a property that is not valid for the resource).
 */
export function refused(cause: string): SandboxHttpError {
	return restError(500, cause);
}

/** The schema name Campaign's messages use for a resource (`nms:recipient` for profiles). */
export function schemaName(resource: string): string {
	return resource === 'profile' ? 'nms:recipient' : `cus:${resource}`;
}

const PKEY_FORMAT = /^@[A-Za-z0-9_-]{44}$/;

/** Whether a PKey has the shape Campaign gives them (else Campaign cannot even parse it). */
export function isWellFormedPKey(pkey: string): boolean {
	return PKEY_FORMAT.test(pkey);
}

/** Campaign's answer to a PKey it cannot parse (experience-cloud.en limitations.md). */
export function invalidPKey(pkey: string, resourceLabel: string): SandboxHttpError {
	const raw = pkey.replace(/^@/, '');
	return new SandboxHttpError(
		500,
		'XTK-170036',
		`'${raw}' attribute unknown (see definition of '${resourceLabel}' schema). XTK-170036 Unable to parse expression '@id = @${raw}'.`,
	);
}

/** Campaign writes timestamps as `YYYY-MM-DD HH:mm:ss.SSSZ` (UTC). */
export function formatTimestamp(ms: number): string {
	return new Date(ms).toISOString().replace('T', ' ');
}

/** Accepts Campaign's format and ISO 8601; returns Campaign's format, or undefined when invalid. */
export function parseTimestamp(text: string): string | undefined {
	const iso = text.trim().replace(' ', 'T');
	if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(iso)) {
		return undefined;
	}
	const ms = Date.parse(/T/.test(iso) && !/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? `${iso}Z` : iso);
	return Number.isNaN(ms) ? undefined : formatTimestamp(ms);
}

function compareValues(a: Value | undefined, b: Value | undefined): number {
	const aEmpty = a === null || a === undefined || a === '';
	const bEmpty = b === null || b === undefined || b === '';
	if (aEmpty || bEmpty) return aEmpty && bEmpty ? 0 : aEmpty ? -1 : 1;
	if (typeof a === 'number' && typeof b === 'number') return a - b;
	const x = String(a);
	const y = String(b);
	return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares a record's sort key with a bound; a bound shorter than the key compares on its prefix. */
function compareKeys(key: Value[], bound: Value[]): number {
	for (let i = 0; i < bound.length; i++) {
		const c = compareValues(key[i], bound[i]);
		if (c !== 0) return c;
	}
	return 0;
}

export interface QueryOptions {
	filter?: FilterDefinition;
	params?: URLSearchParams;
	orderField?: string;
	descending?: boolean;
}

export interface Page {
	records: StoredRecord[];
	/** Sort key of the last record, when more records follow. */
	nextCursor?: Value[];
	total: number;
}

export class Table {
	readonly fields = new Map<string, FieldDefinition>();
	readonly records = new Map<string, StoredRecord>();
	/** field → canonical value → PKeys. */
	private readonly indexes = new Map<string, Map<string, Set<string>>>();
	private version = 0;
	private readonly sortCache = new Map<string, { version: number; list: StoredRecord[] }>();

	constructor(readonly def: ResourceDefinition) {
		for (const field of [...SYSTEM_FIELDS, ...def.fields]) this.fields.set(field.name, field);
		const indexed = new Set<string>();
		for (const field of def.fields) if (field.unique) indexed.add(field.name);
		for (const filter of def.filters ?? []) {
			if ((filter.operator ?? 'equal') === 'equal') indexed.add(filter.field);
		}
		for (const name of indexed) this.indexes.set(name, new Map());
	}

	filter(name: string): FilterDefinition | undefined {
		return (this.def.filters ?? []).find((f) => f.name === name);
	}

	/** The canonical index key of a value of `field` (query parameters arrive as text). */
	canonical(field: FieldDefinition, value: unknown): string {
		if (value === null || value === undefined) return '';
		if (field.type === 'datetime' && typeof value === 'string') {
			return parseTimestamp(value) ?? value;
		}
		return String(value);
	}

	lookup(fieldName: string, value: unknown): StoredRecord[] {
		const field = this.fields.get(fieldName)!;
		const index = this.indexes.get(fieldName);
		const key = this.canonical(field, value);
		if (index) {
			return [...(index.get(key) ?? [])].map((pkey) => this.records.get(pkey)!);
		}
		return [...this.records.values()].filter(
			(r) => this.canonical(field, r.values[fieldName]) === key,
		);
	}

	insert(record: StoredRecord): void {
		this.records.set(record.pkey, record);
		this.indexAdd(record);
		this.version++;
	}

	replace(record: StoredRecord, values: Record<string, Value>): void {
		this.indexRemove(record);
		record.values = values;
		this.indexAdd(record);
		this.version++;
	}

	remove(record: StoredRecord): void {
		this.indexRemove(record);
		this.records.delete(record.pkey);
		this.version++;
	}

	/** Records whose unique fields clash with `values` (other than `self`). */
	uniqueConflicts(values: Record<string, Value>, self?: string): string[] {
		const clashes: string[] = [];
		for (const field of this.def.fields) {
			if (!field.unique) continue;
			const value = values[field.name];
			if (value === null || value === undefined || value === '') continue;
			const others = this.lookup(field.name, value).filter((r) => r.pkey !== self);
			if (others.length) clashes.push(field.name);
		}
		return clashes;
	}

	query(options: QueryOptions, cursor: Value[] | undefined, lineCount: number): Page {
		const { filter, params } = options;
		const keyFields = options.orderField ? [options.orderField] : [];
		const descending = !!options.descending;
		let candidates: StoredRecord[];
		/** Candidates before this index are out of the filter (a sorted list, searched once). */
		let from = 0;
		if (filter) {
			const param = filterParam(filter);
			const value = params?.get(param);
			if (value === null || value === undefined || value === '') {
				throw badRequest(
					`Filter '${filter.name}' of resource '${this.def.name}' needs the parameter '${param}'.`,
				);
			}
			if (filter.operator === 'greaterOrEqual') {
				const field = this.fields.get(filter.field)!;
				const bound = this.parseParam(field, value, filter.name);
				candidates = this.sorted(keyFields, descending);
				if (keyFields[0] === filter.field && !descending) {
					// Ordered by the filtered field: the matches are a tail of the list.
					from = this.firstAtOrAfter(candidates, filter.field, bound);
				} else {
					candidates = candidates.filter(
						(r) => compareValues(this.sortValue(r, filter.field), bound) >= 0,
					);
				}
			} else {
				candidates = this.lookup(filter.field, value);
				candidates.sort((a, b) => this.compareRecords(a, b, keyFields, descending));
			}
		} else {
			candidates = this.sorted(keyFields, descending);
		}
		const direction = descending ? -1 : 1;
		const start = cursor
			? Math.max(from, this.firstAfter(candidates, keyFields, cursor, direction))
			: from;
		const records = candidates.slice(start, start + lineCount);
		const more = start + lineCount < candidates.length;
		const last = records[records.length - 1];
		return {
			records,
			nextCursor: more && last ? this.key(last, keyFields) : undefined,
			total: candidates.length - from,
		};
	}

	/** Index of the first record whose `field` is at or after `bound` in a list sorted by it. */
	private firstAtOrAfter(list: StoredRecord[], field: string, bound: Value): number {
		let lo = 0;
		let hi = list.length;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (compareValues(this.sortValue(list[mid], field), bound) >= 0) hi = mid;
			else lo = mid + 1;
		}
		return lo;
	}

	private parseParam(field: FieldDefinition, text: string, filterName: string): Value {
		if (field.type === 'datetime') {
			const parsed = parseTimestamp(text);
			if (!parsed) {
				throw badRequest(
					`Parameter '${field.name}' of filter '${filterName}' is not a date and time: '${text}'.`,
				);
			}
			return parsed;
		}
		if (field.type === 'long' || field.type === 'double') {
			const n = Number(text);
			if (!Number.isFinite(n)) {
				throw badRequest(`Parameter '${field.name}' of filter '${filterName}' is not a number.`);
			}
			return n;
		}
		return text;
	}

	private key(record: StoredRecord, keyFields: string[]): Value[] {
		return [...keyFields.map((f) => this.sortValue(record, f)), record.seq];
	}

	private sortValue(record: StoredRecord, field: string): Value {
		return field === 'PKey' ? record.pkey : (record.values[field] ?? null);
	}

	private compareRecords(
		a: StoredRecord,
		b: StoredRecord,
		keyFields: string[],
		desc: boolean,
	): number {
		const c = compareKeys(this.key(a, keyFields), this.key(b, keyFields));
		return desc ? -c : c;
	}

	/** Index of the first record strictly after `bound` in the list's direction (binary search). */
	private firstAfter(
		list: StoredRecord[],
		keyFields: string[],
		bound: Value[],
		direction: number,
	): number {
		let lo = 0;
		let hi = list.length;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (compareKeys(this.key(list[mid], keyFields), bound) * direction > 0) hi = mid;
			else lo = mid + 1;
		}
		return lo;
	}

	private sorted(keyFields: string[], descending: boolean): StoredRecord[] {
		const cacheKey = `${keyFields.join(',')}|${descending}`;
		const cached = this.sortCache.get(cacheKey);
		if (cached && cached.version === this.version) return cached.list;
		const list = [...this.records.values()];
		if (keyFields.length || descending) {
			list.sort((a, b) => this.compareRecords(a, b, keyFields, descending));
		} else {
			list.sort((a, b) => a.seq - b.seq);
		}
		this.sortCache.set(cacheKey, { version: this.version, list });
		return list;
	}

	private indexAdd(record: StoredRecord): void {
		for (const [name, index] of this.indexes) {
			const key = this.canonical(this.fields.get(name)!, record.values[name]);
			let set = index.get(key);
			if (!set) index.set(key, (set = new Set()));
			set.add(record.pkey);
		}
	}

	private indexRemove(record: StoredRecord): void {
		for (const [name, index] of this.indexes) {
			const key = this.canonical(this.fields.get(name)!, record.values[name]);
			const set = index.get(key);
			set?.delete(record.pkey);
			if (set && !set.size) index.delete(key);
		}
	}
}

export interface StoreSnapshot {
	version: 1;
	seq: number;
	/** Each simulated workflow's last execution date (its incremental query's bound). */
	workflows?: Record<string, string>;
	resources: ResourceDefinition[];
	records: Record<string, StoredRecord[]>;
}

const PKEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export class CampaignStore {
	readonly tables = new Map<string, Table>();
	private seq = 0;
	private random: () => number;
	/** Each simulated workflow's last execution date. */
	readonly workflows = new Map<string, string>();
	/** Called after every change (used to persist). */
	onChange?: () => void;

	constructor(seed = 1) {
		this.random = seededRandom(seed);
		this.reset(seed);
	}

	reset(seed?: number): void {
		if (seed !== undefined) this.random = seededRandom(seed);
		this.tables.clear();
		for (const def of defaultResources()) this.tables.set(def.name, new Table(def));
		this.seq = 0;
		this.workflows.clear();
		this.changed();
	}

	define(def: ResourceDefinition): Table {
		const table = new Table(def);
		const previous = this.tables.get(def.name);
		// Redefining keeps the records, dropping values of fields that no longer exist.
		if (previous) {
			for (const record of previous.records.values()) {
				const values: Record<string, Value> = {};
				for (const [k, v] of Object.entries(record.values)) if (table.fields.has(k)) values[k] = v;
				table.insert({ ...record, values });
			}
		}
		this.tables.set(def.name, table);
		this.changed();
		return table;
	}

	table(name: string): Table | undefined {
		return this.tables.get(name);
	}

	/**
	 * A timestamp for one write: the time of the write, as a server stamps it. Writes in the same
	 * millisecond share it (a bulk insert of 100,000 profiles gets a few seconds of dates, not
	 * 100 seconds of future ones): readers tell apart records sharing a date by their key. Adobe
	 * documents no resolution or uniqueness of `lastModified` (see sandbox/README.md, Assumptions).
	 */
	tick(): number {
		return Date.now();
	}

	newPKey(): string {
		let key = '@';
		for (let i = 0; i < 44; i++) key += PKEY_ALPHABET[Math.floor(this.random() * 64)];
		return key;
	}

	/**
	 * Checks and converts a request body into stored values; throws Campaign's 500 naming the
	 * field. `admin`: the admin API may set the dates the server maintains.
	 */
	coerce(
		table: Table,
		input: Record<string, unknown>,
		recordLabel: string,
		options: { admin?: boolean } = {},
	): Record<string, Value> {
		const out: Record<string, Value> = {};
		for (const [name, raw] of Object.entries(input)) {
			if (READ_ONLY_FIELDS.has(name)) continue;
			const field = table.fields.get(name);
			if (!field) {
				throw refused(`'${name}' property is not valid for the '${table.def.name}' resource.`);
			}
			if (field.tracks && !options.admin) {
				throw refused(
					`Cannot update the '${name}' property that is read-only ('${table.def.name}' resource).`,
				);
			}
			out[name] = this.coerceValue(table, field, raw, recordLabel);
		}
		return out;
	}

	private coerceValue(
		table: Table,
		field: FieldDefinition,
		raw: unknown,
		recordLabel: string,
	): Value {
		const fail = (what: string) =>
			refused(
				`The value ${shortValue(raw)} is not valid for the field '${field.name}' of ${recordLabel}: ${what}.`,
			);
		if (raw === null) return null;
		switch (field.type) {
			case 'string':
				if (typeof raw !== 'string') throw fail('expected a string');
				if (field.length && raw.length > field.length) {
					throw fail(`longer than ${field.length} characters`);
				}
				return raw;
			case 'boolean':
				if (typeof raw !== 'boolean') throw fail('expected true or false');
				return raw;
			case 'long':
				if (typeof raw !== 'number' || !Number.isInteger(raw)) throw fail('expected an integer');
				return raw;
			case 'double':
				if (typeof raw !== 'number' || !Number.isFinite(raw)) throw fail('expected a number');
				return raw;
			case 'date':
				if (typeof raw !== 'string') throw fail('expected a date YYYY-MM-DD');
				if (raw === '') return '';
				if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(raw))) {
					throw fail('expected a date YYYY-MM-DD');
				}
				return raw;
			case 'datetime': {
				if (typeof raw !== 'string') throw fail('expected a date and time');
				if (raw === '') return '';
				const parsed = parseTimestamp(raw);
				if (!parsed) throw fail('expected a date and time');
				return parsed;
			}
			case 'enumeration':
				if (typeof raw !== 'string' || !field.values!.includes(raw)) {
					// Campaign Standard's wording (experience-cloud.en limitations.md).
					throw refused(
						`The value ${shortValue(raw).replace(/^"|"$/g, "'")} is not valid for the '${schemaName(table.def.name)}:${field.name}' enumeration of the '@${field.name}' field (${recordLabel}; values: ${field.values!.join(', ')}).`,
					);
				}
				return raw;
			case 'link': {
				const pkey =
					raw && typeof raw === 'object' ? (raw as Record<string, unknown>).PKey : undefined;
				if (typeof pkey !== 'string') throw fail('expected {"PKey": "…"}');
				const target = this.tables.get(field.target!);
				if (!target?.records.has(pkey)) {
					throw invalidPKey(pkey, target?.def.label ?? field.target!);
				}
				return pkey;
			}
		}
		return null;
	}

	create(
		table: Table,
		values: Record<string, Value>,
		options: { bypassUnique?: boolean; at?: number } = {},
	): StoredRecord {
		if (!options.bypassUnique) this.assertUnique(table, values);
		const now = formatTimestamp(options.at ?? this.tick());
		const record: StoredRecord = {
			seq: ++this.seq,
			pkey: this.newPKey(),
			values: { ...this.track(table, {}, values, now), created: now, lastModified: now },
		};
		table.insert(record);
		this.changed();
		return record;
	}

	update(
		table: Table,
		record: StoredRecord,
		values: Record<string, Value>,
		options: { at?: number } = {},
	): StoredRecord {
		this.assertUnique(table, { ...record.values, ...values }, record.pkey, values);
		const now = formatTimestamp(options.at ?? this.tick());
		const merged = this.track(table, record.values, values, now);
		merged.lastModified = now;
		table.replace(record, merged);
		this.changed();
		return record;
	}

	delete(table: Table, record: StoredRecord): void {
		table.remove(record);
		// Links to a deleted record are cleared, as Campaign's delete cascades to nullable links.
		for (const other of this.tables.values()) {
			for (const field of other.def.fields) {
				if (field.type !== 'link' || field.target !== table.def.name) continue;
				for (const r of other.records.values()) {
					if (r.values[field.name] === record.pkey) {
						other.replace(r, { ...r.values, [field.name]: null });
					}
				}
			}
		}
		this.changed();
	}

	/**
	 * `before` with `changes` applied, and the dates of tracked fields moved to `now` where their
	 * field changed (unless the change sets the date itself). A new record's flag counts as changed
	 * when it is set to anything but its empty value.
	 */
	private track(
		table: Table,
		before: Record<string, Value>,
		changes: Record<string, Value>,
		now: string,
	): Record<string, Value> {
		const after = { ...before, ...changes };
		for (const field of table.def.fields) {
			if (!field.tracks || field.name in changes || !(field.tracks in changes)) continue;
			const old = before[field.tracks] ?? null;
			const value = changes[field.tracks] ?? null;
			const isNew = !('created' in before);
			if (isNew ? value !== null && value !== false && value !== '' : old !== value) {
				after[field.name] = now;
			}
		}
		return after;
	}

	private assertUnique(
		table: Table,
		values: Record<string, Value>,
		self?: string,
		changed?: Record<string, Value>,
	): void {
		const clashes = table
			.uniqueConflicts(values, self)
			.filter((name) => !changed || name in changed);
		if (clashes.length) {
			const name = clashes[0];
			const value = String(values[name]);
			// Campaign Standard's answer to a duplicate key (experience-cloud.en limitations.md).
			throw new SandboxHttpError(
				500,
				'PGS-220000',
				`A '${table.def.label ?? table.def.name}' with the same key '${value}' already exists. PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint "${table.def.name.toLowerCase()}_${name.toLowerCase()}" DETAIL:  Key (s${name.toLowerCase()})=(${value}) already exists.`,
			);
		}
	}

	snapshot(): StoreSnapshot {
		const records: Record<string, StoredRecord[]> = {};
		for (const [name, table] of this.tables) records[name] = [...table.records.values()];
		return {
			version: 1,
			seq: this.seq,
			workflows: Object.fromEntries(this.workflows),
			resources: [...this.tables.values()].map((t) => t.def),
			records,
		};
	}

	restore(snapshot: StoreSnapshot): void {
		this.tables.clear();
		for (const def of snapshot.resources) this.tables.set(def.name, new Table(def));
		for (const [name, list] of Object.entries(snapshot.records)) {
			const table = this.tables.get(name);
			if (table) for (const record of list) table.insert(record);
		}
		this.seq = snapshot.seq;
		this.workflows.clear();
		for (const [name, date] of Object.entries(snapshot.workflows ?? {})) {
			this.workflows.set(name, date);
		}
	}

	private changed(): void {
		this.onChange?.();
	}
}
