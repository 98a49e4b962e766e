/**
 * Dataverse Web API client: queries with paging, change tracking, metadata, writes and `$batch`.
 * It takes a Transport that already authenticates and retries; it only shapes requests and reads
 * responses.
 */
import { MetadataCache } from '../http/cache';
import type { HttpMethod, HttpRequest, HttpResponse, Transport } from '../http/types';
import { LOOKUP_TYPES } from '../sync/types';
import { environmentUrlOf } from './auth';
import {
	buildBatch,
	matchBatchResults,
	parseBatchResponse,
	type BatchItem,
	type BatchOperation,
	type BatchOperationResult,
} from './batch';
import {
	DataverseApiError,
	DataverseSettingsError,
	DeltaTokenExpiredError,
	isDuplicateKeyError,
	isExpiredDeltaTokenError,
	readDataverseError,
} from './errors';
import {
	assertIdentifier,
	assertPropertyPath,
	and,
	encodeQueryValue,
	eq,
	ge,
	isKeyUrlSafe,
	keySegment,
	normalizeGuid,
	odataLiteral,
	or,
	type ODataFilter,
	type ODataValue,
} from './odata';

export type DataverseRow = Record<string, unknown>;

export interface DataverseClientOptions {
	transport: Transport;
	/** e.g. `https://contoso.crm4.dynamics.com` */
	environmentUrl: string;
	apiVersion?: '9.2';
	/** Default rows per page (`odata.maxpagesize`), at most 5000. */
	maxPageSize?: number;
	/**
	 * Where table metadata is kept across clients (e.g. one per process, for a bounded time); by
	 * default it is kept for the life of this client only.
	 */
	metadataCache?: MetadataCache;
	/** Tells apart the entries of different environments or credentials in a shared cache. */
	metadataScope?: string;
}

export interface OrderBy {
	column: string;
	descending?: boolean;
}

export interface QueryOptions {
	select?: string[];
	filter?: ODataFilter;
	orderBy?: OrderBy[];
	/** Most rows to return over all pages. */
	top?: number;
	pageSize?: number;
	/** Ask for display values (`<column>@OData.Community.Display.V1.FormattedValue`); default true. */
	formattedValues?: boolean;
	/**
	 * Ask which table each lookup points to (`_<x>_value@Microsoft.Dynamics.CRM.lookuplogicalname`);
	 * default: whenever display values are asked for.
	 */
	lookupTables?: boolean;
	/** Continue from a `nextLink` of an earlier page instead of starting over. */
	nextLink?: string;
}

export interface QueryPage {
	rows: DataverseRow[];
	/** Present when more pages follow. */
	nextLink?: string;
}

export interface TrackChangesOptions {
	/** Columns by logical name (lookups are read as `_<x>_value`). */
	select?: string[];
	/** The delta link of the previous run (or a `nextLink` of an unfinished one); none = initial read. */
	deltaLink?: string;
	pageSize?: number;
	formattedValues?: boolean;
	lookupTables?: boolean;
}

export interface ChangePage {
	/** Created or updated rows, as full current versions. */
	upserted: DataverseRow[];
	/** Primary keys of deleted rows. */
	deleted: string[];
	/** The link to the next page of this read (absent on the last page). */
	nextLink?: string;
	/** On the last page: the link that returns the changes after this read. */
	deltaLink?: string;
	/**
	 * On the last page: Dataverse gave no delta link, not even when asked again without
	 * annotations (or answered a delta read with an empty body). Keep the delta link used for this
	 * read: the next read from it returns these changes again, and nothing is lost.
	 */
	deltaLinkMissing?: true;
}

/** Where a modified-date read stands: the last `modifiedon` read, and what was read at it. */
export interface ModifiedOnCursor {
	/** `modifiedon` of the last row read, as Dataverse answered it. */
	modifiedOn: string;
	/** Primary key of the last row read. */
	id: string;
	/**
	 * `<id>:<version>` of every row read whose `modifiedon` equals `modifiedOn`. The next read
	 * starts at `modifiedOn` itself and skips these, so rows sharing the instant are neither
	 * skipped nor read twice, whatever the GUID order and the precision of `modifiedon`.
	 */
	seen?: string[];
}

export interface ModifiedSinceOptions {
	/** Columns by logical name; the primary key, `modifiedon` and `versionnumber` are added. */
	select?: string[];
	/** Where the previous read stopped; none = every row. */
	after?: ModifiedOnCursor;
	pageSize?: number;
	formattedValues?: boolean;
	/** Most rows to give over all pages; the cursor then stands at the last row given. */
	limit?: number;
}

export interface ModifiedPage {
	/** Rows not read before, in (`modifiedon`, primary key) order. */
	rows: DataverseRow[];
	/** Where the read stands after these rows. */
	cursor?: ModifiedOnCursor;
	/** Present when more pages follow. */
	nextLink?: string;
	/** The read stopped at `limit`: more rows may follow. */
	stoppedAtLimit?: true;
}

export interface AlternateKey {
	name: string;
	columns: string[];
	/** `EntityKeyIndexStatus`: Pending, InProgress, Active or Failed (define-alternate-keys-entity.md). */
	status?: string;
}

export interface TableInfo {
	logicalName: string;
	entitySetName: string;
	primaryIdAttribute: string;
	primaryNameAttribute?: string;
	displayName?: string;
	changeTrackingEnabled: boolean;
	isActivity?: boolean;
	/** Only filled by `getTable`. */
	alternateKeys?: AlternateKey[];
}

export interface ColumnInfo {
	logicalName: string;
	/** Dataverse `AttributeType`: String, Picklist, Boolean, Lookup, DateTime, Money, … */
	type: string;
	displayName?: string;
	isPrimaryId?: boolean;
	isPrimaryName?: boolean;
	/** Tables a lookup, customer or owner column can point to. */
	targets?: string[];
	/** The column this one is a helper of (`AttributeOf`), e.g. `parentcustomeridname`. */
	attributeOf?: string;
	/**
	 * Whether rows can be read with it: not `IsValidForRead` false, not an `AttributeOf` helper,
	 * not virtual (multi-select choices excepted). Only readable columns can be selected.
	 */
	readable: boolean;
	/** Its name in Web API queries and rows: `_<name>_value` for lookups, else the logical name. */
	property: string;
}

export interface OptionInfo {
	/** The value as rows carry it: a number, or true/false for Boolean columns. */
	value: number | boolean;
	label: string;
	/** For status options: the state they belong to. */
	state?: number;
}

export interface WriteOptions {
	/** Columns to return (`Prefer: return=representation`). */
	returnColumns?: string[];
}

export interface CreateResult {
	id: string;
	row?: DataverseRow;
}

export interface RowUpsertResult {
	id?: string;
	/** Known when the service tells (with `returnColumns`): true for created, false for updated. */
	created?: boolean;
	row?: DataverseRow;
}

export interface BatchOptions {
	/** Go on after a failed operation outside changesets (`Prefer: odata.continue-on-error`). */
	continueOnError?: boolean;
}

/** Create or update the row of `table` that an alternate key names. */
export interface KeyedUpsert {
	table: string;
	/** Alternate-key column(s) and value(s). */
	key: Record<string, ODataValue>;
	data: DataverseRow;
}

/** One write of `batchWrites`: a plain `$batch` operation, or an upsert by alternate key. */
export type BatchWrite = BatchOperation | { upsert: KeyedUpsert };

/** Key values per `$filter` when rows are looked up by alternate key. */
const KEYS_PER_LOOKUP = 50;

interface RequestInit {
	body?: unknown;
	headers?: Record<string, string>;
	repeatSafe?: boolean;
	deterministic?: HttpRequest['deterministic'];
}

interface ChangeResponse {
	value: DataverseRow[];
	'@odata.nextLink'?: string;
	'@odata.deltaLink'?: string;
}

const FORMATTED = 'OData.Community.Display.V1.FormattedValue';
const LOOKUP_LOGICAL_NAME = 'Microsoft.Dynamics.CRM.lookuplogicalname';
const FORMATTED_SUFFIX = `@${FORMATTED}`;
const LOOKUP_SUFFIX = `@${LOOKUP_LOGICAL_NAME}`;

/** A row read with annotations, in parts (webapi/query/select-columns.md, lookup properties). */
export interface RowParts {
	/** The columns' values, annotations left out. */
	values: Record<string, unknown>;
	/** Display values by column (`<column>@OData.Community.Display.V1.FormattedValue`). */
	labels?: Record<string, string>;
	/** The table each lookup points to, by column (`_<column>_value@…lookuplogicalname`). */
	lookupTables?: Record<string, string>;
}

/** Splits a row's values from its annotations, in one pass: it runs for every row read. */
export function splitAnnotations(row: DataverseRow): RowParts {
	const parts: RowParts = { values: {} };
	for (const key in row) {
		const value = row[key];
		if (!key.includes('@')) {
			parts.values[key] = value;
		} else if (key.endsWith(FORMATTED_SUFFIX)) {
			(parts.labels ??= {})[key.slice(0, -FORMATTED_SUFFIX.length)] = String(value);
		} else if (key.endsWith(LOOKUP_SUFFIX)) {
			const property = key.slice(0, -LOOKUP_SUFFIX.length);
			(parts.lookupTables ??= {})[property.replace(/^_(.+)_value$/, '$1')] = String(value);
		}
	}
	return parts;
}

/** The table a lookup property (`_ownerid_value`) of a row points to, if the row says. */
export function lookupTableOf(row: DataverseRow, property: string): string | undefined {
	const table = row[`${property}${LOOKUP_SUFFIX}`];
	return typeof table === 'string' ? table : undefined;
}
/** Dataverse's page size limit. */
export const MAX_PAGE_SIZE = 5000;
/** `@odata.count` stops at this number (webapi/query/count-rows.md). */
export const COUNT_LIMIT = 5000;

interface LocalizedLabel {
	UserLocalizedLabel?: { Label?: string } | null;
	LocalizedLabels?: Array<{ Label?: string }>;
}

function labelText(label: LocalizedLabel | null | undefined): string | undefined {
	return label?.UserLocalizedLabel?.Label ?? label?.LocalizedLabels?.[0]?.Label ?? undefined;
}

/** Multi-select choice columns are `Virtual` in metadata yet readable properties. */
const READABLE_VIRTUAL_TYPES = new Set(['MultiSelectPicklistType']);

function toColumnInfo(raw: Record<string, unknown>): ColumnInfo {
	const logicalName = String(raw.LogicalName);
	const type = String(raw.AttributeType);
	const typeName = (raw.AttributeTypeName as { Value?: unknown } | null | undefined)?.Value;
	const attributeOf = typeof raw.AttributeOf === 'string' && raw.AttributeOf ? raw.AttributeOf : '';
	const readable =
		raw.IsValidForRead !== false &&
		!attributeOf &&
		(type !== 'Virtual' || READABLE_VIRTUAL_TYPES.has(String(typeName)));
	const column: ColumnInfo = {
		logicalName,
		type,
		readable,
		property: LOOKUP_TYPES.has(type) ? `_${logicalName}_value` : logicalName,
	};
	if (attributeOf) column.attributeOf = attributeOf;
	const displayName = labelText(raw.DisplayName as LocalizedLabel);
	if (displayName) column.displayName = displayName;
	if (typeof raw.IsPrimaryId === 'boolean') column.isPrimaryId = raw.IsPrimaryId;
	if (typeof raw.IsPrimaryName === 'boolean') column.isPrimaryName = raw.IsPrimaryName;
	if (Array.isArray(raw.Targets)) column.targets = raw.Targets.map(String);
	return column;
}

/** The `odata.include-annotations` preference for display values and lookup tables, if any. */
function annotationPreference(options: {
	formattedValues?: boolean;
	lookupTables?: boolean;
}): string | undefined {
	const terms: string[] = [];
	if (options.formattedValues !== false) terms.push(FORMATTED);
	if (options.lookupTables ?? options.formattedValues !== false) terms.push(LOOKUP_LOGICAL_NAME);
	return terms.length ? `odata.include-annotations="${terms.join(',')}"` : undefined;
}

/** A row's version (`versionnumber`, else the number in its etag `W/"n"`). */
function rowVersion(row: DataverseRow): string {
	if (row.versionnumber !== undefined && row.versionnumber !== null)
		return String(row.versionnumber);
	const etag = row['@odata.etag'];
	return typeof etag === 'string' ? etag.replace(/^W\/"|"$/g, '') : '';
}

function clampPageSize(size: number | undefined, fallback: number): number {
	const value = size ?? fallback;
	if (!Number.isInteger(value) || value < 1) throw new Error(`Invalid page size ${value}`);
	return Math.min(value, MAX_PAGE_SIZE);
}

/** Builds a query string from already-safe option values (each is URL-encoded here). */
export function buildQueryString(options: Record<string, string | undefined>): string {
	const parts = Object.entries(options)
		.filter(([, value]) => value !== undefined && value !== '')
		.map(([name, value]) => `${name}=${encodeQueryValue(value as string)}`);
	return parts.length ? `?${parts.join('&')}` : '';
}

/** The id in an `OData-EntityId` header or a record URL: `…/contacts(<guid>)`. */
export function idFromEntityUrl(url: string | undefined): string | undefined {
	if (!url) return undefined;
	const match = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(url);
	return match ? match[1].toLowerCase() : undefined;
}

export class DataverseClient {
	readonly apiBase: string;
	private readonly transport: Transport;
	private readonly defaultPageSize: number;
	private readonly metadataCache: MetadataCache;
	private readonly metadataScope: string;
	/** Cache entries this client has used, and its mark (to tell earlier runs' entries). */
	private readonly metadataUsed = new Set<string>();
	private readonly metadataMark: number;

	constructor(options: DataverseClientOptions) {
		this.transport = options.transport;
		const environment = environmentUrlOf(options.environmentUrl);
		if (!environment) {
			throw new Error(
				`Invalid Dataverse environment URL ${JSON.stringify(options.environmentUrl)}`,
			);
		}
		this.apiBase = `${environment}/api/data/v${options.apiVersion ?? '9.2'}/`;
		this.defaultPageSize = clampPageSize(options.maxPageSize, MAX_PAGE_SIZE);
		this.metadataCache = options.metadataCache ?? new MetadataCache({ ttlMs: Infinity });
		this.metadataMark = this.metadataCache.mark();
		this.metadataScope = options.metadataScope ?? this.apiBase;
	}

	// ---- requests --------------------------------------------------------------------------

	/** The route label used in errors and request counters: method and path without query. */
	private routeOf(method: HttpMethod, url: string): string {
		const path = url.startsWith(this.apiBase) ? url.slice(this.apiBase.length) : url;
		return `${method} ${path.split('?')[0]}`;
	}

	/** Sends a request and returns the response whatever its status. */
	private async exchange<T = unknown>(
		method: HttpMethod,
		pathOrUrl: string,
		init: RequestInit = {},
	): Promise<{ response: HttpResponse<T>; route: string }> {
		const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.apiBase + pathOrUrl;
		if (!url.startsWith(this.apiBase)) {
			// A link from a response must stay on this environment, so the token never leaves it.
			throw new Error(
				`Refusing to follow a link outside the Dataverse environment: ${url.split('?')[0]}`,
			);
		}
		const route = this.routeOf(method, url);
		const request: HttpRequest = {
			method,
			url,
			headers: {
				Accept: 'application/json',
				'OData-MaxVersion': '4.0',
				'OData-Version': '4.0',
				...(init.body !== undefined && typeof init.body !== 'string'
					? { 'Content-Type': 'application/json' }
					: {}),
				...(init.headers ?? {}),
			},
			route: `dataverse:${route.split(/[(?]/)[0]}`,
		};
		if (init.body !== undefined) request.body = init.body;
		if (init.repeatSafe !== undefined) request.repeatSafe = init.repeatSafe;
		if (init.deterministic) request.deterministic = init.deterministic;
		const response = await this.transport.request<T>(request);
		return { response, route };
	}

	/** Sends a request; any status of 400 or more becomes a `DataverseApiError`. */
	private async send<T = unknown>(
		method: HttpMethod,
		pathOrUrl: string,
		init: RequestInit = {},
	): Promise<HttpResponse<T>> {
		const { response, route } = await this.exchange<T>(method, pathOrUrl, init);
		if (response.status >= 400) throw this.noteStaleMetadata(apiError(response, route));
		return response;
	}

	private preferHeader(prefs: Array<string | false | undefined>): Record<string, string> {
		const values = prefs.filter((p): p is string => !!p);
		return values.length ? { Prefer: values.join(',') } : {};
	}

	// ---- metadata --------------------------------------------------------------------------

	private static readonly TABLE_SELECT =
		'LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ChangeTrackingEnabled,DisplayName,IsActivity';

	private static toTableInfo(raw: Record<string, unknown>): TableInfo {
		const info: TableInfo = {
			logicalName: String(raw.LogicalName),
			entitySetName: String(raw.EntitySetName),
			primaryIdAttribute: String(raw.PrimaryIdAttribute),
			changeTrackingEnabled: raw.ChangeTrackingEnabled === true,
		};
		if (typeof raw.PrimaryNameAttribute === 'string')
			info.primaryNameAttribute = raw.PrimaryNameAttribute;
		const displayName = labelText(raw.DisplayName as LocalizedLabel);
		if (displayName) info.displayName = displayName;
		if (typeof raw.IsActivity === 'boolean') info.isActivity = raw.IsActivity;
		return info;
	}

	/** All tables, sorted by logical name. */
	async listTables(): Promise<TableInfo[]> {
		const response = await this.send<{ value: Array<Record<string, unknown>> }>(
			'GET',
			`EntityDefinitions${buildQueryString({ $select: DataverseClient.TABLE_SELECT })}`,
		);
		return response.body.value
			.map((raw) => DataverseClient.toTableInfo(raw))
			.sort((a, b) => a.logicalName.localeCompare(b.logicalName));
	}

	// ---- metadata cache ------------------------------------------------------------------------

	private metadataKey(kind: string, ...names: string[]): string {
		return [this.metadataScope, kind, ...names].join('\u0000');
	}

	private metadata<T>(key: string, load: () => Promise<T>): Promise<T> {
		this.metadataUsed.add(key);
		return this.metadataCache.get(key, load);
	}

	/**
	 * Drops the cached metadata this client used that earlier runs had read: a settings problem
	 * found against it, or an answer naming something it does not know, may come from a change
	 * made in Dynamics since. True when anything was dropped (reading again may then help).
	 */
	forgetCachedMetadata(): boolean {
		return this.metadataCache.invalidateLoadedBefore(this.metadataUsed, this.metadataMark);
	}

	/**
	 * An answer that says Dataverse does not know a name, or that a table's change tracking is
	 * off, may contradict cached metadata: it is dropped so the next read sees the change.
	 */
	private noteStaleMetadata(error: DataverseApiError): DataverseApiError {
		if (STALE_METADATA_ANSWER.test(error.serviceMessage)) {
			error.namesUnknown = true;
			this.forgetCachedMetadata();
		}
		return error;
	}

	/** One table's metadata with its alternate keys (cached, see `metadataCache`). */
	getTable(logicalName: string): Promise<TableInfo> {
		assertIdentifier(logicalName, 'table name');
		return this.metadata(this.metadataKey('table', logicalName), () =>
			this.fetchTable(logicalName),
		);
	}

	private async fetchTable(logicalName: string): Promise<TableInfo> {
		const response = await this.send<Record<string, unknown>>(
			'GET',
			`EntityDefinitions(LogicalName=${odataLiteral(logicalName, 'string')})${buildQueryString({
				$select: DataverseClient.TABLE_SELECT,
				$expand: 'Keys($select=LogicalName,KeyAttributes,EntityKeyIndexStatus)',
			})}`,
		);
		const info = DataverseClient.toTableInfo(response.body);
		const keys = Array.isArray(response.body.Keys) ? response.body.Keys : [];
		info.alternateKeys = keys.map((key: Record<string, unknown>) => ({
			name: String(key.LogicalName),
			columns: Array.isArray(key.KeyAttributes) ? key.KeyAttributes.map(String) : [],
			...(typeof key.EntityKeyIndexStatus === 'string' ? { status: key.EntityKeyIndexStatus } : {}),
		}));
		return info;
	}

	/** Drops what this client cached of a table, so the next read asks Dataverse again. */
	forgetTable(logicalName: string): void {
		this.metadataCache.invalidate(this.metadataKey('table', logicalName));
		this.metadataCache.invalidate(this.metadataKey('columns', logicalName));
	}

	/**
	 * POSTs a metadata definition (a table to `EntityDefinitions`, a column to
	 * `EntityDefinitions(LogicalName='x')/Attributes`, a key to `.../Keys`) and returns the new
	 * item's URL from `OData-EntityId` (webapi/create-update-entity-definitions-using-web-api.md).
	 * Not sent again after a lost answer: a second POST would be refused as a duplicate, so the
	 * caller reads the metadata again instead.
	 */
	async createMetadata(path: string, definition: Record<string, unknown>): Promise<string> {
		const response = await this.send('POST', path, { body: definition, repeatSafe: false });
		// Every table's metadata of this environment may have changed (a new table, column or key).
		this.metadataCache.invalidateWhere((key) => key.startsWith(this.metadataKey('')));
		return String(response.headers['odata-entityid'] ?? '');
	}

	/**
	 * The columns of a table with their types (cached, see `metadataCache`). Names in `mustKnow`
	 * (logical names or `_<x>_value` properties) that the cached columns lack make them be read
	 * again, once per name while the entry lives: they may have been added since.
	 */
	async getColumns(table: string, options: { mustKnow?: string[] } = {}): Promise<ColumnInfo[]> {
		assertIdentifier(table, 'table name');
		const key = this.metadataKey('columns', table);
		const load = () => this.fetchColumns(table);
		const columns = await this.metadata(key, load);
		const unknown = (options.mustKnow ?? []).filter((name) => !hasColumn(columns, name));
		if (!unknown.length) return columns;
		const again = this.metadataCache.reload(key, `unknown:${unknown.sort().join(',')}`, load);
		return again ? await again : columns;
	}

	private async fetchColumns(table: string): Promise<ColumnInfo[]> {
		const entity = `EntityDefinitions(LogicalName=${odataLiteral(table, 'string')})`;
		const response = await this.send<{ value: Array<Record<string, unknown>> }>(
			'GET',
			`${entity}/Attributes${buildQueryString({
				$select:
					'LogicalName,AttributeType,AttributeTypeName,AttributeOf,IsValidForRead,DisplayName,IsPrimaryId,IsPrimaryName',
			})}`,
		);
		const columns = response.body.value.map((raw) => toColumnInfo(raw));
		if (columns.some((c) => LOOKUP_TYPES.has(c.type))) {
			// `Targets` belongs to LookupAttributeMetadata only, so it takes a cast of its own.
			const lookups = await this.send<{ value: Array<Record<string, unknown>> }>(
				'GET',
				`${entity}/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata${buildQueryString({
					$select: 'LogicalName,Targets',
				})}`,
			);
			const targets = new Map(
				lookups.body.value.map((raw) => [
					String(raw.LogicalName),
					Array.isArray(raw.Targets) ? raw.Targets.map(String) : undefined,
				]),
			);
			for (const column of columns) {
				const found = targets.get(column.logicalName);
				if (found) column.targets = found;
			}
		}
		return columns.sort((a, b) => a.logicalName.localeCompare(b.logicalName));
	}

	/**
	 * Column names (logical names, or `_<x>_value` properties) as Web API properties. A column
	 * Dataverse does not let anyone read is refused with its name and why; a name the metadata does
	 * not know goes as it is, for Dataverse to answer.
	 */
	async selectProperties(table: string, columns: string[]): Promise<string[]> {
		const known = new Map((await this.getColumns(table)).map((c) => [c.logicalName, c]));
		return columns.map((name) => {
			assertIdentifier(name);
			const lookup = /^_(.+)_value$/.exec(name);
			const column = known.get(lookup ? lookup[1] : name);
			if (!column) return name;
			if (!column.readable) {
				const why = column.attributeOf
					? `it is a helper of "${column.attributeOf}"; choose "${column.attributeOf}" instead`
					: column.type === 'Virtual'
						? 'it is a virtual column'
						: 'Dataverse does not let it be read (IsValidForRead is false)';
				throw new DataverseSettingsError(
					`The column "${name}" of table "${table}" cannot be read: ${why}`,
				);
			}
			return column.property;
		});
	}

	/** The choices of a picklist, state, status or boolean column (cached, see `metadataCache`). */
	getOptions(table: string, column: string): Promise<OptionInfo[]> {
		assertIdentifier(column);
		return this.metadata(this.metadataKey('options', table, column), () =>
			this.fetchOptions(table, column),
		);
	}

	/**
	 * Reads the choices of a column again because a row carries a value or label they lack (an
	 * option added or renamed since they were read): once per such value while the entry lives.
	 * Undefined when they were already read again for it.
	 */
	reloadOptions(table: string, column: string, reason: string): Promise<OptionInfo[]> | undefined {
		const key = this.metadataKey('options', table, column);
		this.metadataUsed.add(key);
		return this.metadataCache.reload(key, reason, () => this.fetchOptions(table, column));
	}

	private async fetchOptions(table: string, column: string): Promise<OptionInfo[]> {
		const columns = await this.getColumns(table);
		const info = columns.find((c) => c.logicalName === column);
		if (!info) throw new Error(`Table ${table} has no column ${column}`);
		const cast: Record<string, string> = {
			Picklist: 'PicklistAttributeMetadata',
			State: 'StateAttributeMetadata',
			Status: 'StatusAttributeMetadata',
			Boolean: 'BooleanAttributeMetadata',
		};
		const metadataType = cast[info.type];
		if (!metadataType) {
			throw new Error(
				`Column ${column} of table ${table} is a ${info.type} column; only Picklist, State, Status and Boolean columns have options`,
			);
		}
		const response = await this.send<{
			OptionSet?: {
				Options?: Array<{ Value: number; Label?: LocalizedLabel; State?: number }>;
				TrueOption?: { Value: number; Label?: LocalizedLabel };
				FalseOption?: { Value: number; Label?: LocalizedLabel };
			};
			GlobalOptionSet?: {
				Options?: Array<{ Value: number; Label?: LocalizedLabel; State?: number }>;
			};
		}>(
			'GET',
			`EntityDefinitions(LogicalName=${odataLiteral(table, 'string')})/Attributes(LogicalName=${odataLiteral(
				column,
				'string',
			)})/Microsoft.Dynamics.CRM.${metadataType}${buildQueryString({
				$select: 'LogicalName',
				$expand: 'OptionSet',
			})}`,
		);
		const optionSet = response.body.OptionSet;
		if (info.type === 'Boolean') {
			return [
				{ value: true, label: labelText(optionSet?.TrueOption?.Label) ?? 'Yes' },
				{ value: false, label: labelText(optionSet?.FalseOption?.Label) ?? 'No' },
			];
		}
		const options = optionSet?.Options ?? response.body.GlobalOptionSet?.Options ?? [];
		return options.map((option) => {
			const result: OptionInfo = {
				value: option.Value,
				label: labelText(option.Label) ?? String(option.Value),
			};
			if (typeof option.State === 'number') result.state = option.State;
			return result;
		});
	}

	/** Row counts per table, as Dataverse's periodically refreshed snapshot. */
	async retrieveTotalRecordCount(tables: string[]): Promise<Record<string, number>> {
		if (tables.length === 0) return {};
		const names = tables.map((t) => odataLiteral(assertIdentifier(t, 'table name'), 'string'));
		const response = await this.send<{
			EntityRecordCountCollection?: { Keys?: string[]; Values?: Array<number | string> };
		}>('GET', `RetrieveTotalRecordCount(EntityNames=[${names.map(encodeQueryValue).join(',')}])`);
		const collection = response.body.EntityRecordCountCollection ?? {};
		const counts: Record<string, number> = {};
		(collection.Keys ?? []).forEach((key, i) => {
			counts[key] = Number(collection.Values?.[i] ?? 0);
		});
		return counts;
	}

	// ---- reading ---------------------------------------------------------------------------

	/**
	 * Query a table page by page, following `@odata.nextLink`. `select` takes logical names: a
	 * lookup is read as its `_<name>_value` property.
	 */
	async *queryPages(table: string, options: QueryOptions = {}): AsyncGenerator<QueryPage> {
		const pageSize = clampPageSize(options.pageSize, this.defaultPageSize);
		const headers = this.preferHeader([
			`odata.maxpagesize=${pageSize}`,
			annotationPreference(options),
		]);
		let url: string | undefined = options.nextLink;
		if (!url) {
			const { entitySetName } = await this.getTable(table);
			const select = options.select && (await this.selectProperties(table, options.select));
			url =
				entitySetName +
				buildQueryString({
					$select: select?.join(','),
					$filter: options.filter?.toString(),
					$orderby: options.orderBy
						?.map((o) => `${assertPropertyPath(o.column)} ${o.descending ? 'desc' : 'asc'}`)
						.join(','),
				});
		}
		let remaining = options.top ?? Infinity;
		while (url && remaining > 0) {
			const response: HttpResponse<{ value: DataverseRow[]; '@odata.nextLink'?: string }> =
				await this.send<{ value: DataverseRow[]; '@odata.nextLink'?: string }>('GET', url, {
					headers,
				});
			let rows = response.body.value ?? [];
			if (rows.length > remaining) rows = rows.slice(0, remaining);
			remaining -= rows.length;
			const next: string | undefined = remaining > 0 ? response.body['@odata.nextLink'] : undefined;
			const page: QueryPage = { rows };
			if (next) page.nextLink = next;
			yield page;
			url = next;
		}
	}

	/**
	 * Rows matching a filter, counted by Dataverse up to 5,000: `atLeast` says the count stopped
	 * there (webapi/query/count-rows.md: `$count=true` with the `totalrecordcountlimitexceeded`
	 * annotation). One request, one row returned.
	 */
	async countRows(
		table: string,
		filter?: ODataFilter,
	): Promise<{ count: number; atLeast: boolean }> {
		const { entitySetName, primaryIdAttribute } = await this.getTable(table);
		const response = await this.send<Record<string, unknown>>(
			'GET',
			entitySetName +
				buildQueryString({
					$select: primaryIdAttribute,
					$filter: filter?.toString(),
					$count: 'true',
				}),
			{
				headers: this.preferHeader([
					'odata.maxpagesize=1',
					'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"',
				]),
			},
		);
		const count = Number(response.body['@odata.count'] ?? 0);
		const exceeded = response.body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'];
		return { count, atLeast: exceeded === true || count >= COUNT_LIMIT };
	}

	/** All rows of a query (bounded by `top`, or everything: use `queryPages` for large tables). */
	async query(table: string, options: QueryOptions = {}): Promise<DataverseRow[]> {
		const rows: DataverseRow[] = [];
		for await (const page of this.queryPages(table, options)) rows.push(...page.rows);
		return rows;
	}

	/** One row by id, or undefined when it does not exist. */
	async retrieve(
		table: string,
		id: string,
		options: { select?: string[]; formattedValues?: boolean } = {},
	): Promise<DataverseRow | undefined> {
		const { entitySetName } = await this.getTable(table);
		const select = options.select && (await this.selectProperties(table, options.select));
		const { response, route } = await this.exchange<DataverseRow>(
			'GET',
			`${entitySetName}${keySegment(id)}${buildQueryString({ $select: select?.join(',') })}`,
			{ headers: this.preferHeader([annotationPreference(options)]) },
		);
		if (response.status === 404) return undefined;
		if (response.status >= 400) throw apiError(response, route);
		return response.body;
	}

	/**
	 * Change tracking: the first call (no delta link) reads every row; later calls pass the last
	 * delta link and get rows created or updated since, and the ids of deleted rows. The delta link
	 * comes with the last page (use-change-tracking-synchronize-data-external-systems.md).
	 *
	 * - An expired or unknown token throws `DeltaTokenExpiredError` at once, whatever the status
	 *   it came with: it is never retried, the remedy is a full read.
	 * - Dataverse has been seen to leave the delta link out of the last page when annotations are
	 *   asked for (MicrosoftDocs/powerapps-docs #439), and answers a delta read without changes
	 *   with an empty body. Such a last page is asked for again without annotations; when that
	 *   answer holds the same changes and a delta link, the page gets it. Otherwise the page says
	 *   `deltaLinkMissing`, so the caller keeps the link it read from.
	 */
	async *trackChanges(
		table: string,
		options: TrackChangesOptions = {},
	): AsyncGenerator<ChangePage> {
		const pageSize = clampPageSize(options.pageSize, this.defaultPageSize);
		const annotations = annotationPreference(options);
		let url: string | undefined = options.deltaLink;
		if (!url) {
			const { entitySetName } = await this.getTable(table);
			const select = options.select && (await this.selectProperties(table, options.select));
			url = entitySetName + buildQueryString({ $select: select?.join(',') });
		}
		while (url) {
			const page = await this.changePage(url, pageSize, annotations, !!options.deltaLink);
			if (!page.nextLink && !page.deltaLink) {
				const plain = annotations
					? await this.changePage(url, pageSize, undefined, !!options.deltaLink)
					: undefined;
				const key = plain && (await this.getTable(table)).primaryIdAttribute;
				if (plain?.deltaLink && !plain.nextLink && key && sameChanges(page, plain, key)) {
					page.deltaLink = plain.deltaLink;
				} else {
					page.deltaLinkMissing = true;
				}
			}
			yield page;
			url = page.nextLink;
		}
	}

	/** One page of a change-tracking read; an empty body is a page without changes or links. */
	private async changePage(
		url: string,
		pageSize: number,
		annotations: string | undefined,
		fromToken: boolean,
	): Promise<ChangePage> {
		const headers = this.preferHeader([
			'odata.track-changes',
			`odata.maxpagesize=${pageSize}`,
			annotations,
		]);
		const expired = (response: HttpResponse): boolean =>
			response.status >= 400 &&
			isExpiredDeltaTokenError(response.status, readDataverseError(response.body, response.status));
		const { response, route } = await this.exchange<ChangeResponse | ''>('GET', url, {
			headers,
			deterministic: fromToken ? expired : undefined,
		});
		if (response.status >= 400) {
			const error = readDataverseError(response.body, response.status);
			if (fromToken && expired(response)) {
				throw new DeltaTokenExpiredError(response.status, error.code, error.message, route);
			}
			throw this.noteStaleMetadata(
				new DataverseApiError(response.status, error.code, error.message, route),
			);
		}
		const body = typeof response.body === 'object' && response.body ? response.body : undefined;
		const page = splitChanges(Array.isArray(body?.value) ? body.value : []);
		const next = body?.['@odata.nextLink'];
		const delta = body?.['@odata.deltaLink'];
		if (next) page.nextLink = next;
		if (delta) page.deltaLink = delta;
		return page;
	}

	/**
	 * Rows modified since a cursor, page by page, in (`modifiedon`, primary key) order: for tables
	 * without change tracking. Each read starts at the cursor's `modifiedon` itself (`ge`) and
	 * skips the rows the cursor has seen at that instant, in the same version. So it needs no
	 * comparison of GUIDs (SQL Server orders them its own way) and no equality on `modifiedon`
	 * (Dataverse may keep milliseconds it does not show): no row is skipped, none comes back
	 * unchanged.
	 */
	async *readModifiedSince(
		table: string,
		options: ModifiedSinceOptions = {},
	): AsyncGenerator<ModifiedPage> {
		const { primaryIdAttribute: key } = await this.getTable(table);
		const after = options.after;
		let cursor: ModifiedOnCursor | undefined = after && {
			modifiedOn: after.modifiedOn,
			id: after.id,
			seen: [...(after.seen ?? [])],
		};
		const select = options.select && [
			...new Set([key, 'modifiedon', 'versionnumber', ...options.select]),
		];
		let left = options.limit ?? Infinity;
		for await (const page of this.queryPages(table, {
			select,
			filter: after ? ge('modifiedon', after.modifiedOn, 'datetime') : undefined,
			orderBy: [{ column: 'modifiedon' }, { column: key }],
			pageSize: options.pageSize,
			formattedValues: options.formattedValues,
		})) {
			const rows: DataverseRow[] = [];
			let stopped = false;
			for (const row of page.rows) {
				if (left <= 0) {
					stopped = true;
					break;
				}
				const id = String(row[key]);
				const modifiedOn = typeof row.modifiedon === 'string' ? row.modifiedon : undefined;
				const mark = `${id}:${rowVersion(row)}`;
				const at = modifiedOn === undefined ? undefined : Date.parse(modifiedOn);
				const current = cursor ? Date.parse(cursor.modifiedOn) : undefined;
				if (at !== undefined && at === current && cursor?.seen?.includes(mark)) continue;
				rows.push(row);
				left--;
				if (modifiedOn === undefined || at === undefined || Number.isNaN(at)) continue;
				if (!cursor || current === undefined || at > current) {
					cursor = { modifiedOn, id, seen: [mark] };
				} else if (at === current) {
					cursor = { ...cursor, id, seen: [...(cursor.seen ?? []), mark] };
				}
			}
			const result: ModifiedPage = { rows };
			if (cursor) result.cursor = cursor;
			if (page.nextLink) result.nextLink = page.nextLink;
			if (stopped || (left <= 0 && page.nextLink)) result.stoppedAtLimit = true;
			yield result;
			if (result.stoppedAtLimit) return;
		}
	}

	// ---- writing ---------------------------------------------------------------------------

	/** `"<navigation>@odata.bind": "/<set>(<id>)"` to set a lookup on create or update. */
	async bind(navigationProperty: string, targetTable: string, id: string): Promise<DataverseRow> {
		const { entitySetName } = await this.getTable(targetTable);
		return {
			[`${assertIdentifier(navigationProperty)}@odata.bind`]: `/${entitySetName}(${normalizeGuid(id)})`,
		};
	}

	async create(
		table: string,
		data: DataverseRow,
		options: WriteOptions = {},
	): Promise<CreateResult> {
		const { entitySetName, primaryIdAttribute } = await this.getTable(table);
		const select = options.returnColumns?.map((c) => assertIdentifier(c));
		const response = await this.send<DataverseRow>(
			'POST',
			`${entitySetName}${buildQueryString({ $select: select?.join(',') })}`,
			{
				body: data,
				headers: this.preferHeader([select && 'return=representation']),
				// A primary key in the body makes a repeat fail as a duplicate instead of creating twice.
				repeatSafe: typeof data[primaryIdAttribute] === 'string',
			},
		);
		const row = select && typeof response.body === 'object' ? response.body : undefined;
		const id =
			idFromEntityUrl(response.headers['odata-entityid']) ??
			(row && typeof row[primaryIdAttribute] === 'string'
				? String(row[primaryIdAttribute])
				: undefined);
		if (!id) {
			throw new DataverseApiError(
				response.status,
				'',
				'The create response carries no record id',
				`POST ${entitySetName}`,
			);
		}
		return row ? { id, row } : { id };
	}

	/** Updates an existing row (`If-Match: *`: a missing row is a 404, never a new row). */
	async update(table: string, id: string, data: DataverseRow): Promise<void> {
		const { entitySetName } = await this.getTable(table);
		await this.send('PATCH', `${entitySetName}${keySegment(id)}`, {
			body: data,
			headers: { 'If-Match': '*' },
			repeatSafe: true,
		});
	}

	/**
	 * Creates or updates the row an alternate key (or a primary key) names. With `returnColumns`,
	 * the result says whether the row was created.
	 */
	async upsert(
		table: string,
		key: string | Record<string, ODataValue>,
		data: DataverseRow,
		options: WriteOptions = {},
	): Promise<RowUpsertResult> {
		if (typeof key !== 'string' && !isKeyUrlSafe(key)) {
			return await this.upsertByLookup(table, key, data, options);
		}
		const { entitySetName, primaryIdAttribute } = await this.getTable(table);
		const select = options.returnColumns
			? [...new Set([primaryIdAttribute, ...options.returnColumns])].map((c) => assertIdentifier(c))
			: undefined;
		const response = await this.send<DataverseRow>(
			'PATCH',
			`${entitySetName}${keySegment(key)}${buildQueryString({ $select: select?.join(',') })}`,
			{
				body: data,
				headers: this.preferHeader([select && 'return=representation']),
				repeatSafe: true,
			},
		);
		const result: RowUpsertResult = {};
		const row = select && typeof response.body === 'object' ? response.body : undefined;
		const id =
			(row && typeof row[primaryIdAttribute] === 'string'
				? String(row[primaryIdAttribute])
				: undefined) ??
			idFromEntityUrl(response.headers['odata-entityid']) ??
			(typeof key === 'string' ? normalizeGuid(key) : undefined);
		if (id) result.id = id;
		if (row) {
			result.row = row;
			result.created = response.status === 201;
		}
		return result;
	}

	/**
	 * An upsert by an alternate key whose value cannot go into a key URL: the row is found by
	 * `$filter` on the key columns, then updated by id or created (the key's unique index refuses
	 * a second row, so a create cannot duplicate it).
	 */
	private async upsertByLookup(
		table: string,
		key: Record<string, ODataValue>,
		data: DataverseRow,
		options: WriteOptions,
	): Promise<RowUpsertResult> {
		const write = { upsert: { table, key, data } };
		const id = (await this.findByKeys([write])).get(write);
		if (id) {
			await this.update(table, id, data);
			const row = options.returnColumns
				? await this.retrieve(table, id, { select: options.returnColumns, formattedValues: false })
				: undefined;
			return row ? { id, created: false, row } : { id };
		}
		const created = await this.create(table, { ...key, ...data }, options);
		return created.row ? { id: created.id, created: true, row: created.row } : { id: created.id };
	}

	/** Deletes a row; false when it did not exist. */
	async delete(table: string, id: string): Promise<boolean> {
		const { entitySetName } = await this.getTable(table);
		const { response, route } = await this.exchange('DELETE', `${entitySetName}${keySegment(id)}`, {
			repeatSafe: true,
		});
		if (response.status === 404) return false;
		if (response.status >= 400) throw apiError(response, route);
		return true;
	}

	/** The path of a row for a `$batch` operation, e.g. `/api/data/v9.2/contacts(<id>)`. */
	async batchUrl(table: string, key?: string | Record<string, ODataValue>): Promise<string> {
		const { entitySetName } = await this.getTable(table);
		return `${new URL(this.apiBase).pathname}${entitySetName}${key === undefined ? '' : keySegment(key)}`;
	}

	/**
	 * Sends operations as one `$batch`. Results come back one per operation, in order, each with its
	 * status, body and Dataverse error. A batch itself never throws for failed operations.
	 */
	async batch(items: BatchItem[], options: BatchOptions = {}): Promise<BatchOperationResult[]> {
		const count = items.reduce(
			(n, item) => n + ('changeset' in item ? item.changeset.length : 1),
			0,
		);
		if (count > 1000) throw new Error(`A $batch holds at most 1000 operations, got ${count}`);
		const built = buildBatch(items);
		const request: HttpRequest = {
			method: 'POST',
			url: `${this.apiBase}$batch`,
			headers: {
				Accept: 'application/json',
				'OData-MaxVersion': '4.0',
				'OData-Version': '4.0',
				'Content-Type': built.contentType,
				...this.preferHeader([options.continueOnError && 'odata.continue-on-error']),
			},
			body: built.body,
			route: 'dataverse:$batch',
			repeatSafe: items.every((item) => isRepeatSafe(item)),
		};
		const response = await this.transport.request<unknown>(request);
		const contentType = response.headers['content-type'] ?? '';
		if (!/multipart\/mixed/i.test(contentType)) {
			const error = readDataverseError(response.body, response.status);
			throw new DataverseApiError(response.status, error.code, error.message, 'POST $batch');
		}
		const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
		return matchBatchResults(items, built.contentIds, parseBatchResponse(contentType, text));
	}

	/**
	 * Sends writes as one `$batch` (no changesets), one result per write, in order. An upsert by
	 * alternate key goes to its key URL (`PATCH set(key='v')`), except when a key value holds a
	 * character Dataverse refuses in key URLs (define-alternate-keys-entity.md): that row is looked
	 * up by `$filter` on its key columns first, then updated by id, or created (the key's unique
	 * index refuses a second row). An upsert that meets the duplicate-key answer lost a race with
	 * another request that created the row (such as the first attempt of a batch whose answer was
	 * lost): it is sent once more as an update (`If-Match: *`), never as a second create.
	 */
	async batchWrites(
		writes: BatchWrite[],
		options: BatchOptions = {},
	): Promise<BatchOperationResult[]> {
		if (writes.length === 0) return [];
		const results = await this.batch(await this.writeOperations(writes, false), options);
		const again = writes
			.map((write, i) => ({ write, i, result: results[i] }))
			.filter(
				({ write, result }) =>
					isKeyedUpsert(write) &&
					result?.outcome === 'failed' &&
					isDuplicateKeyError(result.status, result.error ?? { code: '', message: '' }),
			);
		if (again.length) {
			const retried = await this.batch(
				await this.writeOperations(
					again.map((a) => a.write),
					true,
				),
				options,
			);
			again.forEach(({ i }, k) => {
				results[i] = { ...retried[k], index: i };
			});
		}
		return results;
	}

	/** The `$batch` operations of some writes; `updateOnly` adds `If-Match: *` to keyed upserts. */
	private async writeOperations(
		writes: BatchWrite[],
		updateOnly: boolean,
	): Promise<BatchOperation[]> {
		const found = await this.findByKeys(
			writes.filter(isKeyedUpsert).filter((w) => !isKeyUrlSafe(w.upsert.key)),
		);
		const ifMatch = updateOnly ? { 'If-Match': '*' } : undefined;
		return await Promise.all(
			writes.map(async (write): Promise<BatchOperation> => {
				if (!isKeyedUpsert(write)) return write;
				const { table, key, data } = write.upsert;
				if (isKeyUrlSafe(key)) {
					return {
						method: 'PATCH',
						url: await this.batchUrl(table, key),
						body: data,
						...(ifMatch ? { headers: ifMatch } : {}),
					};
				}
				const id = found.get(write);
				if (id) {
					return {
						method: 'PATCH',
						url: await this.batchUrl(table, id),
						body: data,
						headers: { 'If-Match': '*' },
					};
				}
				return { method: 'POST', url: await this.batchUrl(table), body: { ...key, ...data } };
			}),
		);
	}

	/** The ids of the rows some alternate keys name, found by `$filter` on the key columns. */
	private async findByKeys(
		writes: Array<{ upsert: KeyedUpsert }>,
	): Promise<Map<{ upsert: KeyedUpsert }, string>> {
		const found = new Map<{ upsert: KeyedUpsert }, string>();
		const byTable = new Map<string, Array<{ upsert: KeyedUpsert }>>();
		for (const write of writes) {
			const group = `${write.upsert.table}|${Object.keys(write.upsert.key).sort().join(',')}`;
			byTable.set(group, [...(byTable.get(group) ?? []), write]);
		}
		// Dataverse compares text without regard to case, and so does the key's unique index.
		const same = (a: unknown, b: ODataValue) =>
			typeof a === 'string' && typeof b === 'string'
				? a.toLowerCase() === b.toLowerCase()
				: a === b;
		for (const group of byTable.values()) {
			const { table } = group[0].upsert;
			const { primaryIdAttribute } = await this.getTable(table);
			const columns = Object.keys(group[0].upsert.key);
			for (let i = 0; i < group.length; i += KEYS_PER_LOOKUP) {
				const slice = group.slice(i, i + KEYS_PER_LOOKUP);
				const rows = await this.query(table, {
					select: [primaryIdAttribute, ...columns],
					filter: or(...slice.map((w) => and(...columns.map((c) => eq(c, w.upsert.key[c]))))),
					formattedValues: false,
				});
				for (const write of slice) {
					const row = rows.find((r) => columns.every((c) => same(r[c], write.upsert.key[c])));
					if (row) found.set(write, String(row[primaryIdAttribute]));
				}
			}
		}
		return found;
	}
}

function isKeyedUpsert(write: BatchWrite): write is { upsert: KeyedUpsert } {
	return 'upsert' in write;
}

function isRepeatSafe(item: BatchItem): boolean {
	const ops: BatchOperation[] = 'changeset' in item ? item.changeset : [item];
	return ops.every(
		(op) =>
			op.method === 'GET' || op.method === 'DELETE' || op.method === 'PATCH' || op.method === 'PUT',
	);
}

/**
 * What Dataverse's OData layer answers for a name it does not know in a query or a path ("Could
 * not find a property named 'x' on type …", "Resource not found for the segment 'x'."), and for a
 * change-tracking read of a table whose tracking is off ("Entity: x isn't enabled for change
 * tracking."). The code (0x80060888) alone also covers refused key URLs, which say nothing about
 * metadata.
 */
const STALE_METADATA_ANSWER =
	/could not find a property named|resource not found for the segment|enabled for change tracking/i;

/** Whether `name` (a logical name or a lookup's `_<x>_value`) is one of `columns`. */
function hasColumn(columns: readonly ColumnInfo[], name: string): boolean {
	return columns.some((c) => c.logicalName === name || c.property === name);
}

function apiError(response: HttpResponse<unknown>, route: string): DataverseApiError {
	const error = readDataverseError(response.body, response.status);
	return new DataverseApiError(response.status, error.code, error.message, route);
}

/** Do two answers for one change-tracking page hold the same rows, in the same versions? */
function sameChanges(a: ChangePage, b: ChangePage, key: string): boolean {
	const marks = (page: ChangePage) =>
		[
			...page.upserted.map((row) => `u:${String(row[key])}:${rowVersion(row)}`),
			...page.deleted.map((id) => `d:${id}`),
		]
			.sort()
			.join('|');
	return marks(a) === marks(b);
}

/** Separates change-tracking rows into upserted rows and deleted ids. */
export function splitChanges(values: DataverseRow[]): ChangePage {
	const page: ChangePage = { upserted: [], deleted: [] };
	for (const value of values) {
		const context = value['@odata.context'];
		if (
			value.reason === 'deleted' ||
			(typeof context === 'string' && context.includes('$deletedEntity'))
		) {
			page.deleted.push(String(value.id));
		} else {
			page.upserted.push(value);
		}
	}
	return page;
}
