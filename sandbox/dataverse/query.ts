/**
 * Reading entity sets: $select, $filter, $orderby, $top, $count, `odata.maxpagesize` paging with
 * opaque next links, and change tracking (initial read, delta links, deleted rows). Query results
 * are kept as id lists in a small cache so paging through millions of rows stays linear.
 */
import { randomBytes } from 'node:crypto';
import type { DataverseBehavior } from './admin';
import {
	compileFilter,
	FilterError,
	keyValuesOf,
	type BoundProperty,
	type ValueKind,
} from './filter';
import { compareSqlGuids, sqlGuidKey } from './guid';
import { annotationFilter, edmType, formattedValue, renderRow } from './records';
import { isLookup, isProperty, propertyName, type ColumnDefinition, type Table } from './schema';
import { Store, StoreError, type LookupValue, type Row, type TableState } from './store';

export const API_PATH = '/api/data/v9.2/';
export const MAX_PAGE_SIZE = 5000;
const COUNT_LIMIT = 5000;

export interface Preferences {
	maxPageSize?: number;
	trackChanges: boolean;
	includeAnnotations?: string;
	returnRepresentation: boolean;
	continueOnError: boolean;
}

/** Splits `Prefer` values on commas outside double quotes. */
export function parsePrefer(header: string | string[] | undefined): Preferences {
	const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
	const items: string[] = [];
	let current = '';
	let quoted = false;
	for (const ch of raw) {
		if (ch === '"') quoted = !quoted;
		if (ch === ',' && !quoted) {
			items.push(current.trim());
			current = '';
		} else current += ch;
	}
	if (current.trim()) items.push(current.trim());
	const prefs: Preferences = {
		trackChanges: false,
		returnRepresentation: false,
		continueOnError: false,
	};
	for (const item of items) {
		const [name, ...rest] = item.split('=');
		const value = rest.join('=').trim();
		switch (name.trim().toLowerCase()) {
			case 'odata.maxpagesize': {
				const size = Number(value);
				if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
					throw new StoreError(
						400,
						'0x80060888',
						`The value '${value}' of the 'odata.maxpagesize' preference is not valid. It must be an integer between 1 and ${MAX_PAGE_SIZE}.`,
					);
				}
				prefs.maxPageSize = size;
				break;
			}
			case 'odata.track-changes':
				prefs.trackChanges = true;
				break;
			case 'odata.include-annotations':
				prefs.includeAnnotations = value.replace(/^"|"$/g, '');
				break;
			case 'return':
				prefs.returnRepresentation = value === 'representation';
				break;
			case 'odata.continue-on-error':
				prefs.continueOnError = true;
				break;
		}
	}
	return prefs;
}

export function unknownProperty(table: Table, name: string): StoreError {
	return new StoreError(
		400,
		'0x80060888',
		`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${table.logicalName}'.`,
	);
}

/** Column for a Web API property name (`_x_value` for lookups). */
export function columnForProperty(table: Table, name: string): ColumnDefinition | undefined {
	const lookup = /^_(.+)_value$/.exec(name);
	if (lookup) {
		const column = table.columnsByName.get(lookup[1]);
		return column && isLookup(column) ? column : undefined;
	}
	const column = table.columnsByName.get(name);
	return column && !isLookup(column) && isProperty(column) ? column : undefined;
}

export function parseSelect(table: Table, select: string | null): ColumnDefinition[] | null {
	if (select === null || select.trim() === '') return null;
	return select.split(',').map((raw) => {
		const name = raw.trim();
		const column = columnForProperty(table, name);
		if (!column) throw unknownProperty(table, name);
		return column;
	});
}

function valueKind(column: ColumnDefinition): ValueKind {
	if (isLookup(column)) return 'guid';
	switch (column.type) {
		case 'String':
		case 'Memo':
			return 'string';
		case 'Boolean':
			return 'boolean';
		case 'DateTime':
			return 'datetime';
		case 'Uniqueidentifier':
			return 'guid';
		default:
			return 'number';
	}
}

export function rowFilter(table: Table, text: string): (row: unknown) => boolean {
	try {
		return compileFilter(text, (path): BoundProperty => {
			const column = columnForProperty(table, path);
			if (!column) throw unknownProperty(table, path);
			const name = column.logicalName;
			const lookup = isLookup(column);
			return {
				kind: valueKind(column),
				edmType: edmType(column),
				get: lookup
					? (row) => ((row as Row)[name] as LookupValue | null)?.id ?? null
					: (row) => (row as Row)[name],
			};
		});
	} catch (error) {
		if (error instanceof FilterError) throw new StoreError(400, '0x80060888', error.message);
		throw error;
	}
}

interface OrderKey {
	column: ColumnDefinition;
	descending: boolean;
}

function parseOrderBy(table: Table, text: string): OrderKey[] {
	return text.split(',').map((item) => {
		const [name, direction, extra] = item.trim().split(/\s+/);
		if (extra !== undefined || (direction && !/^(asc|desc)$/.test(direction))) {
			throw new StoreError(
				400,
				'0x80060888',
				`Syntax error at position ${text.indexOf(item)} in '${text}'.`,
			);
		}
		const column = columnForProperty(table, name);
		if (!column) throw unknownProperty(table, name);
		return { column, descending: direction === 'desc' };
	});
}

function sortValue(store: Store, column: ColumnDefinition, value: unknown): string | number | null {
	if (value === null || value === undefined) return null;
	// Lookups sort by the related row's primary name (webapi/query/order-rows.md).
	if (isLookup(column)) return (formattedValue(store, column, value) ?? '').toLowerCase();
	if (column.type === 'Uniqueidentifier') return sqlGuidKey(String(value));
	if (typeof value === 'string')
		return column.type === 'DateTime' ? Date.parse(value) : value.toLowerCase();
	if (typeof value === 'boolean') return value ? 1 : 0;
	return value as number;
}

interface CachedResult {
	ids: string[];
	deleted: string[];
	/** Store version the result was computed at; the delta link continues from here. */
	snapshot: number;
	total: number;
}

interface Cursor {
	cacheId: string;
	offset: number;
	snapshot: number;
	tracking: boolean;
}

const CACHE_SIZE = 24;

export class QueryEngine {
	private readonly cache = new Map<string, CachedResult>();

	constructor(
		private readonly store: Store,
		private readonly behavior: () => DataverseBehavior = () => ({}),
	) {}

	clear(): void {
		this.cache.clear();
	}

	private remember(result: CachedResult): string {
		const id = randomBytes(8).toString('hex');
		this.cache.set(id, result);
		if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
		return id;
	}

	/** GET on an entity set. */
	retrieveMultiple(
		state: TableState,
		query: URLSearchParams,
		prefs: Preferences,
		baseUrl: string,
	): { body: Record<string, unknown> | ''; headers: Record<string, string> } {
		const table = state.table;
		for (const name of query.keys()) {
			if (
				name.startsWith('$') &&
				!['$select', '$filter', '$orderby', '$top', '$count', '$skiptoken', '$deltatoken'].includes(
					name,
				)
			) {
				if (name === '$expand' || name === '$apply') {
					throw new StoreError(
						400,
						'0x80060888',
						`The query parameter ${name} is not supported by this sandbox.`,
					);
				}
				throw new StoreError(400, '0x80060888', `The query parameter ${name} is not supported.`);
			}
		}
		const columns = parseSelect(table, query.get('$select'));
		const cursor = parseSkipToken(query.get('$skiptoken'));
		const deltaToken = query.get('$deltatoken');
		const tracking = prefs.trackChanges || deltaToken !== null || (cursor?.tracking ?? false);
		const headers: Record<string, string> = {};
		const applied: string[] = [];

		if (tracking) {
			if (!table.changeTrackingEnabled) {
				throw new StoreError(
					400,
					'0x80060888',
					`Entity: ${table.logicalName} isn't enabled for change tracking.`,
				);
			}
			for (const option of ['$filter', '$orderby', '$expand', '$top']) {
				if (query.has(option)) {
					throw new StoreError(
						400,
						'0x80060888',
						`The "${option}" query parameter isn't supported when Change Tracking is enabled.`,
					);
				}
			}
			if (prefs.trackChanges) applied.push('odata.track-changes');
		}

		let tokenVersion: number | null = null;
		if (deltaToken !== null) tokenVersion = this.checkDeltaToken(state, deltaToken);

		const pageSize = prefs.maxPageSize ?? MAX_PAGE_SIZE;
		if (prefs.maxPageSize) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
		const wants = annotationFilter(prefs.includeAnnotations);
		if (prefs.includeAnnotations)
			applied.push(`odata.include-annotations="${prefs.includeAnnotations}"`);

		let result = cursor ? this.cache.get(cursor.cacheId) : undefined;
		let cacheId = cursor?.cacheId;
		if (!result) {
			result = tracking
				? this.computeChanges(state, tokenVersion, cursor?.snapshot)
				: this.computeQuery(state, query, prefs);
			cacheId = this.remember(result);
		}
		const offset = cursor?.offset ?? 0;
		const combined = result.ids.length + result.deleted.length;
		const end = Math.min(offset + pageSize, combined);
		const value: unknown[] = [];
		const setUrl = `${baseUrl}${API_PATH}${table.entitySetName}`;
		for (let i = offset; i < end; i++) {
			if (i < result.ids.length) {
				const row = state.rows.get(result.ids[i]);
				if (row) value.push(renderRow(this.store, table, row, columns, wants));
			} else {
				value.push({
					'@odata.context': `${baseUrl}${API_PATH}$metadata#${table.entitySetName}/$deletedEntity`,
					id: result.deleted[i - result.ids.length],
					reason: 'deleted',
				});
			}
		}

		const selectPart = columns ? `(${columns.map(propertyName).join(',')})` : '';
		const body: Record<string, unknown> = {
			'@odata.context': `${baseUrl}${API_PATH}$metadata#${table.entitySetName}${selectPart}${tokenVersion !== null ? '/$delta' : ''}`,
		};
		if (!tracking) {
			const counted = query.get('$count') === 'true';
			if (counted) body['@odata.count'] = Math.min(result.total, COUNT_LIMIT);
			if (wants('Microsoft.Dynamics.CRM.totalrecordcount')) {
				body['@Microsoft.Dynamics.CRM.totalrecordcount'] = counted
					? Math.min(result.total, COUNT_LIMIT)
					: -1;
				body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] =
					counted && result.total > COUNT_LIMIT;
			}
		}
		if (wants('Microsoft.Dynamics.CRM.globalmetadataversion')) {
			body['@Microsoft.Dynamics.CRM.globalmetadataversion'] = '1000';
		}
		body.value = value;
		if (end < combined) {
			const next = new URLSearchParams();
			for (const [name, v] of query) if (name !== '$skiptoken') next.append(name, v);
			next.set(
				'$skiptoken',
				makeSkipToken(table, result, offset, end, pageSize, cacheId!, tracking),
			);
			body['@odata.nextLink'] = `${setUrl}?${encodeQuery(next)}`;
		} else if (tracking) {
			const behavior = this.behavior();
			if (tokenVersion !== null && combined === 0 && behavior.emptyBodyWithoutChanges) {
				return { body: '', headers };
			}
			if (!(prefs.includeAnnotations && behavior.deltaLinkMissingWithAnnotations)) {
				const delta = new URLSearchParams();
				if (query.has('$select')) delta.set('$select', query.get('$select')!);
				delta.set('$deltatoken', makeDeltaToken(result.snapshot));
				body['@odata.deltaLink'] = `${setUrl}?${encodeQuery(delta)}`;
			}
		}
		if (applied.length) headers['Preference-Applied'] = applied.join(',');
		return { body, headers };
	}

	/** Rows matching $filter, in $orderby order, cut at $top. */
	computeQuery(state: TableState, query: URLSearchParams, prefs: Preferences): CachedResult {
		const table = state.table;
		const filterText = query.get('$filter');
		const predicate = filterText !== null ? rowFilter(table, filterText) : null;
		const orderText = query.get('$orderby');
		const order = orderText !== null ? parseOrderBy(table, orderText) : null;
		let top: number | null = null;
		const topText = query.get('$top');
		if (topText !== null) {
			top = Number(topText);
			if (!Number.isInteger(top) || top < 0) {
				throw new StoreError(
					400,
					'0x80060888',
					`Invalid value '${topText}' for $top query option found. The $top query option requires a non-negative integer value.`,
				);
			}
			// Dataverse ignores $top when a page size is requested.
			if (prefs.maxPageSize) top = null;
		}
		// Rows asked for by id are read by id; the predicate still decides, so the answer is the same.
		const keyValues =
			filterText !== null ? keyValuesOf(filterText, table.primaryIdAttribute) : null;
		const candidates: Iterable<Row> = keyValues
			? keyValues.map((id) => state.rows.get(id)).filter((row): row is Row => !!row)
			: state.rows.values();
		let ids: string[];
		if (order) {
			const rows: Row[] = [];
			for (const row of candidates) if (!predicate || predicate(row)) rows.push(row);
			const keyed = rows.map((row) => ({
				id: row[table.primaryIdAttribute] as string,
				keys: order.map((o) => sortValue(this.store, o.column, row[o.column.logicalName])),
			}));
			keyed.sort((a, b) => {
				for (let i = 0; i < order.length; i++) {
					const x = a.keys[i];
					const y = b.keys[i];
					if (x === y) continue;
					// SQL Server sorts NULL first in ascending order.
					const cmp = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
					return order[i].descending ? -cmp : cmp;
				}
				return compareSqlGuids(a.id, b.id);
			});
			ids = keyed.map((k) => k.id);
		} else {
			ids = [];
			for (const row of candidates) {
				if (!predicate || predicate(row)) ids.push(row[table.primaryIdAttribute] as string);
			}
		}
		const total = ids.length;
		if (top !== null && ids.length > top) ids = ids.slice(0, top);
		return { ids, deleted: [], snapshot: this.store.version, total };
	}

	/** Changed rows (by version) then deleted ids since `since`; everything when `since` is null. */
	computeChanges(state: TableState, since: number | null, snapshotHint?: number): CachedResult {
		const snapshot = snapshotHint ?? this.store.version;
		const from = since ?? -1;
		const changed: Row[] = [];
		for (const row of state.rows.values()) {
			const v = row.versionnumber as number;
			if (v > from && v <= snapshot) changed.push(row);
		}
		if (since !== null)
			changed.sort((a, b) => (a.versionnumber as number) - (b.versionnumber as number));
		const deleted: string[] = [];
		if (since !== null) {
			const seen = new Set<string>();
			for (const entry of state.deletes) {
				if (entry.version > from && entry.version <= snapshot && !seen.has(entry.id)) {
					seen.add(entry.id);
					deleted.push(entry.id);
				}
			}
		}
		const ids = changed.map((r) => r[state.table.primaryIdAttribute] as string);
		return { ids, deleted, snapshot, total: ids.length };
	}

	private checkDeltaToken(state: TableState, token: string): number {
		const match = /^(\d+)!/.exec(token);
		const version = match ? Number(match[1]) : NaN;
		if (
			!Number.isSafeInteger(version) ||
			version < state.minTokenVersion ||
			version > this.store.version
		) {
			throw new StoreError(
				this.behavior().expiredTokenStatus ?? 400,
				'0x80044352',
				'Version stamp associated with the client has expired. Please perform a full sync.',
			);
		}
		return version;
	}
}

/** OData query strings keep `$`, `,`, `(`, `)` and `'` readable, as Dataverse's links do. */
function encodeQuery(params: URLSearchParams): string {
	return [...params]
		.map(
			([k, v]) =>
				`${k}=${encodeURIComponent(v).replace(/%24/g, '$').replace(/%2C/g, ',').replace(/%27/g, "'").replace(/%28/g, '(').replace(/%29/g, ')')}`,
		)
		.join('&');
}

function pad(n: number): string {
	return String(n).padStart(2, '0');
}

export function makeDeltaToken(version: number, now = new Date()): string {
	const date = `${pad(now.getUTCMonth() + 1)}/${pad(now.getUTCDate())}/${now.getUTCFullYear()} ${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}`;
	return `${version}!${date}`;
}

function makeSkipToken(
	table: Table,
	result: CachedResult,
	offset: number,
	end: number,
	pageSize: number,
	cacheId: string,
	tracking: boolean,
): string {
	const first = result.ids[offset] ?? result.deleted[offset - result.ids.length] ?? '';
	const last = result.ids[end - 1] ?? result.deleted[end - 1 - result.ids.length] ?? '';
	const page = Math.floor(offset / pageSize) + 1;
	const inner = `<cookie page="${page}"><${table.primaryIdAttribute} last="{${last.toUpperCase()}}" first="{${first.toUpperCase()}}" /></cookie>`;
	const pagingCookie = encodeURIComponent(encodeURIComponent(inner));
	const cursor = `${cacheId}.${end}.${result.snapshot}`;
	return `<cookie pagenumber="${page + 1}" pagingcookie="${pagingCookie}" istracking="${tracking ? 'True' : 'False'}" sandboxcursor="${cursor}" />`;
}

function parseSkipToken(token: string | null): Cursor | null {
	if (token === null) return null;
	const cursor = /sandboxcursor="([0-9a-f]+)\.(\d+)\.(\d+)"/.exec(token);
	if (!cursor) {
		throw new StoreError(
			400,
			'0x80060888',
			'The $skiptoken is not valid. Follow @odata.nextLink as returned.',
		);
	}
	return {
		cacheId: cursor[1],
		offset: Number(cursor[2]),
		snapshot: Number(cursor[3]),
		tracking: /istracking="True"/.test(token),
	};
}
