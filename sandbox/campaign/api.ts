/**
 * The service side of the Campaign sandbox: Adobe IMS's token endpoint, the Adobe I/O gateway's
 * key and token checks, and Campaign Standard's REST resources, in the shapes Adobe documents
 * (sources in sandbox/README.md; what Adobe leaves open is listed there as assumptions).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
	SandboxHttpError,
	parseJsonBody,
	type Reply,
	type RequestContext,
	type SandboxServer,
} from '../common/server';
import {
	READ_ONLY_FIELDS,
	filterParams,
	type FieldDefinition,
	type FilterDefinition,
} from './schema';
import {
	GENERIC_FAILURE,
	RST,
	badRequest,
	invalidPKey,
	isWellFormedPKey,
	restError,
	shortValue,
	type CampaignStore,
	type StoredRecord,
	type Table,
	type Value,
} from './store';

/**
 * `standard`: Campaign Standard. `v8`: a Campaign v8 tenant migrated from it (experience-cloud.en
 * help/campaign/api/limitations.md): PATCH with an empty body answers 204, PKeys change from one
 * answer to the next, an unreadable PKey answers 404, and 500s carry no Campaign code or cause.
 */
export type CampaignFlavor = 'standard' | 'v8';

export interface CampaignServiceState {
	store: CampaignStore;
	organizationId: string;
	/** client id → client secret. */
	clients: Map<string, string>;
	/** access token → owner, scopes and expiry (ms). */
	tokens: Map<string, { clientId: string; scopes: Set<string>; expiresAt: number }>;
	tokenLifetimeSeconds: number;
	allowedScopes: Set<string>;
	/** Campaign's XtkBigTableThreshold: larger tables page only with `_forcePagination=true`. */
	bigTableThreshold: number;
	flavor: CampaignFlavor;
}

export const MAX_LINE_COUNT = 1000;
/** XtkBigTableThreshold's default (CS help/api/using/pagination.md). */
export const DEFAULT_BIG_TABLE_THRESHOLD = 100_000;
/** The scope the gateway asks of a Campaign call (an assumption: see sandbox/README.md). */
export const CAMPAIGN_SCOPE = 'campaign_sdk';

const CAMPAIGN_CODE = /\b(RST|XTK|PGS|SQL|JST)-\d+/;
/** Campaign v8's wording for every REST failure (experience-cloud.en limitations.md). */
const V8_FAILURE = 'An error has occurred - please contact your administrator.';

/**
 * Error bodies. The Adobe I/O gateway answers auth and throttling problems with
 * `{"error_code":"401013","message":…}`. Campaign answers `{"code":status,"message":"RST-… …"}`,
 * and an unknown record as a bare JSON string (adobe/aio-lib-campaign-standard issue #51 shows a
 * 404 whose body is the string `"RST-360011 An error has occurred - …"`).
 */
export function campaignErrorFormatter(state: Pick<CampaignServiceState, 'flavor'>) {
	return (status: number, code: string, message: string): Reply => {
		if (/^\d{6}$/.test(code)) return { status, body: { error_code: code, message } };
		if (status === 429)
			return { status, body: { error_code: '429050', message: 'Too many requests' } };
		if (status === 503)
			return { status, body: { error_code: '503071', message: 'Service Unavailable' } };
		let text =
			code === 'InternalServerError'
				? GENERIC_FAILURE
				: CAMPAIGN_CODE.test(message) || code === 'Gateway'
					? message
					: `${GENERIC_FAILURE} ${message}`;
		if (state.flavor === 'v8' && code !== 'Gateway') {
			text = status === 500 ? V8_FAILURE : text.replace(GENERIC_FAILURE, '').trim();
		}
		if (status === 404) {
			return {
				status,
				headers: { 'Content-Type': 'application/json; charset=utf-8' },
				body: JSON.stringify(text),
			};
		}
		return { status, body: { code: status, message: text } };
	};
}

export function tokenInvalidReply(): Reply {
	return { status: 401, body: { error_code: '401013', message: 'Oauth token is not valid' } };
}

function imsError(error: string, description: string, status = 400): Reply {
	return { status, body: { error, error_description: description } };
}

function issueToken(state: CampaignServiceState, ctx: RequestContext): Reply {
	const form = new URLSearchParams(ctx.rawBody);
	const get = (name: string) => form.get(name) ?? ctx.url.searchParams.get(name);
	if (get('grant_type') !== 'client_credentials') {
		return imsError('unsupported_grant_type', 'grant_type must be client_credentials');
	}
	const clientId = get('client_id');
	const clientSecret = get('client_secret');
	if (!clientId) return imsError('invalid_request', 'missing client_id parameter');
	if (!state.clients.has(clientId))
		return imsError('invalid_client', 'invalid client_id parameter');
	if (!clientSecret || state.clients.get(clientId) !== clientSecret) {
		return imsError('invalid_client', 'invalid client_secret parameter', 401);
	}
	const scopes = (get('scope') ?? '').split(/[,\s]+/).filter(Boolean);
	const unknown = scopes.filter((s) => !state.allowedScopes.has(s));
	if (unknown.length) return imsError('invalid_scope', `invalid scope (${unknown.join(',')})`);
	const token = randomBytes(32).toString('base64url');
	state.tokens.set(token, {
		clientId,
		scopes: new Set(scopes),
		expiresAt: Date.now() + state.tokenLifetimeSeconds * 1000,
	});
	return {
		status: 200,
		body: { access_token: token, token_type: 'bearer', expires_in: state.tokenLifetimeSeconds },
	};
}

/** The gateway's checks, in the order its answers suggest: key, token, key owner, scope, tenant. */
function authorize(state: CampaignServiceState, ctx: RequestContext): void {
	const apiKey = ctx.headers['x-api-key'];
	if (typeof apiKey !== 'string' || !apiKey) {
		throw new SandboxHttpError(403, '403000', 'Api Key is required');
	}
	if (!state.clients.has(apiKey)) throw new SandboxHttpError(403, '403003', 'Api Key is invalid');
	const match = /^Bearer\s+(\S+)$/i.exec(String(ctx.headers.authorization ?? ''));
	if (!match) throw new SandboxHttpError(403, '403010', 'Oauth token is missing.');
	const token = state.tokens.get(match[1]);
	if (!token || token.expiresAt <= Date.now()) {
		if (token) state.tokens.delete(match[1]);
		throw new SandboxHttpError(401, '401013', 'Oauth token is not valid');
	}
	if (token.clientId !== apiKey) throw new SandboxHttpError(403, '403003', 'Api Key is invalid');
	if (!token.scopes.has(CAMPAIGN_SCOPE)) {
		throw new SandboxHttpError(
			403,
			'403011',
			`Oauth token does not have the required scope (${CAMPAIGN_SCOPE})`,
		);
	}
	if (ctx.params.org !== state.organizationId) {
		// What Adobe.io answers for an organization the token is not provisioned for
		// (CS help/api/using/troubleshooting.md).
		throw new SandboxHttpError(
			500,
			'Gateway',
			'Oops. Something went wrong. Check your URI and try again.',
		);
	}
}

type Api = 'profileAndServices' | 'profileAndServicesExt' | 'customResources';

function resolveTable(state: CampaignServiceState, api: string, name: string): Table {
	const table = state.store.table(name);
	const linked = table?.def.linkedToProfile !== false;
	const allowed =
		(api === 'profileAndServicesExt' && linked) ||
		(api === 'profileAndServices' && name === 'profile') ||
		(api === 'customResources' && name !== 'profile');
	if (!table || !allowed) {
		throw new SandboxHttpError(404, RST, `Unknown resource '${name}' under '${api}'.`);
	}
	return table;
}

function apiBase(state: CampaignServiceState, ctx: RequestContext): string {
	return `${ctx.baseUrl}/${state.organizationId}/campaign`;
}

/** The API path a resource's records live under (profile: as asked; custom resources: Ext). */
function recordApi(api: string, table: Table): Api {
	if (table.def.name === 'profile' && api === 'profileAndServices') return 'profileAndServices';
	if (table.def.linkedToProfile === false) return 'customResources';
	return 'profileAndServicesExt';
}

// ---- PKeys -------------------------------------------------------------------------------------

/** A PKey as an answer shows it: as stored, or (Campaign v8) different in every answer. */
function presentPKey(state: CampaignServiceState, pkey: string): string {
	if (state.flavor !== 'v8') return pkey;
	const nonce = randomBytes(6).toString('base64url');
	return `@${Buffer.from(`${nonce}.${pkey.slice(1)}`, 'utf8').toString('base64url')}`;
}

/** The stored PKey a client sends back: as shown by any earlier answer, or as stored. */
function storedPKey(state: CampaignServiceState, presented: string): string {
	if (state.flavor !== 'v8' || isWellFormedPKey(presented)) return presented;
	const decoded = Buffer.from(presented.replace(/^@/, ''), 'base64url').toString('utf8');
	const match = /^[A-Za-z0-9_-]{8}\.([A-Za-z0-9_-]{44})$/.exec(decoded);
	return match ? `@${match[1]}` : presented;
}

function findRecord(state: CampaignServiceState, table: Table, rawPKey: string): StoredRecord {
	const presented = decodeURIComponent(rawPKey);
	const pkey = storedPKey(state, presented);
	const record = table.records.get(pkey);
	if (record) return record;
	if (!isWellFormedPKey(pkey)) {
		if (state.flavor === 'v8') {
			throw new SandboxHttpError(404, 'v8', `Unable to decrypt PKey. (PKey=${presented})`);
		}
		throw invalidPKey(presented, table.def.label ?? table.def.name);
	}
	throw restError(404, `No '${table.def.name}' record has the PKey '${presented}'.`);
}

/** Link values of a request body with their PKeys as stored. */
function storedLinks(
	state: CampaignServiceState,
	table: Table,
	body: Record<string, unknown>,
): Record<string, unknown> {
	const out = { ...body };
	for (const field of table.def.fields) {
		const value = out[field.name];
		if (field.type !== 'link' || !value || typeof value !== 'object') continue;
		const pkey = (value as Record<string, unknown>).PKey;
		if (typeof pkey === 'string') out[field.name] = { ...value, PKey: storedPKey(state, pkey) };
	}
	return out;
}

// ---- records -----------------------------------------------------------------------------------

const EMPTY: Record<string, Value> = {
	string: '',
	date: '',
	datetime: '',
	enumeration: '',
	boolean: false,
	long: 0,
	double: 0,
};

export function presentRecord(
	state: CampaignServiceState,
	table: Table,
	record: StoredRecord,
	base: string,
	api: string,
): Record<string, unknown> {
	const out: Record<string, unknown> = { PKey: presentPKey(state, record.pkey) };
	for (const field of table.def.fields) {
		const value = record.values[field.name];
		if (field.type === 'link') {
			if (value) {
				const target = state.store.table(field.target!)!;
				const pkey = presentPKey(state, String(value));
				out[field.name] = {
					PKey: pkey,
					href: `${base}/${recordApi(api, target)}/${field.target}/${pkey}`,
				};
			}
			continue;
		}
		out[field.name] = value ?? EMPTY[field.type];
	}
	out.created = record.values.created;
	out.lastModified = record.values.lastModified;
	out.href = `${base}/${recordApi(api, table)}/${table.def.name}/${out.PKey as string}`;
	return out;
}

function parseLineCount(params: URLSearchParams): number {
	const raw = params.get('_lineCount');
	if (raw === null) return 25;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 1 || n > MAX_LINE_COUNT) {
		throw badRequest(`_lineCount must be an integer from 1 to ${MAX_LINE_COUNT} (got '${raw}').`);
	}
	return n;
}

function parseOrder(table: Table, params: URLSearchParams): { field?: string; desc: boolean } {
	const raw = params.get('_order');
	if (!raw) return { desc: false };
	// `field%20desc` may arrive encoded once more by clients that encode the whole value.
	const [field, direction, ...rest] = raw.replace(/%20/gi, ' ').trim().split(/\s+/);
	if (!table.fields.has(field) || rest.length || (direction && !/^(asc|desc)$/i.test(direction))) {
		throw badRequest(`Cannot order resource '${table.def.name}' by '${raw}'.`);
	}
	return { field, desc: /^desc$/i.test(direction ?? '') };
}

function parseLineStart(params: URLSearchParams): Value[] | undefined {
	const raw = params.get('_lineStart');
	if (!raw) return undefined;
	try {
		const parsed = JSON.parse(Buffer.from(raw.replace(/^@/, ''), 'base64url').toString('utf8'));
		if (!Array.isArray(parsed)) throw new Error('not a key');
		return parsed as Value[];
	} catch {
		throw badRequest(`_lineStart '${raw}' is not a value returned by this API.`);
	}
}

function encodeLineStart(key: Value[]): string {
	return `@${Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')}`;
}

/** A filter of the resource as reachable under this API (custom filters: Ext only). */
function filterOf(table: Table, api: string, name: string): FilterDefinition | undefined {
	const filter = table.filter(name);
	if (!filter) return undefined;
	return api === 'profileAndServices' && !filter.builtIn ? undefined : filter;
}

function listRecords(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res } = ctx.params;
	const table = resolveTable(state, api, res);
	const params = ctx.url.searchParams;
	const filterName = ctx.params.filter ? decodeURIComponent(ctx.params.filter) : undefined;
	const filter = filterName ? filterOf(table, api, filterName) : undefined;
	if (filterName && !filter) {
		throw badRequest(`Unknown filter '${filterName}' on resource '${table.def.name}'.`);
	}
	const order = parseOrder(table, params);
	const lineCount = parseLineCount(params);
	const page = table.query(
		{ filter, params, orderField: order.field, descending: order.desc },
		parseLineStart(params),
		lineCount,
	);
	const base = apiBase(state, ctx);
	const listPath = `${base}/${api}/${table.def.name}${filterName ? `/${filterName}` : ''}`;
	if (ctx.params.count) return { status: 200, body: { count: page.total } };
	const countParams = new URLSearchParams(params);
	countParams.delete('_lineStart');
	const body: Record<string, unknown> = {
		content: page.records.map((r) => presentRecord(state, table, r, base, api)),
		count: { href: `${listPath}/_count?${countParams.toString()}` },
		serverSidePagination: true,
	};
	// A big table pages only when asked to (CS help/api/using/pagination.md).
	const pages =
		table.records.size <= state.bigTableThreshold || params.get('_forcePagination') === 'true';
	if (page.nextCursor && pages) {
		const next = new URLSearchParams(params);
		next.set('_lineCount', String(lineCount));
		next.set('_lineStart', encodeLineStart(page.nextCursor));
		body.next = { href: `${listPath}?${next.toString()}` };
	}
	return { status: 200, body };
}

function recordLabel(table: Table, body: Record<string, unknown>, pkey?: string): string {
	const keyField = table.def.fields.find((f) => f.unique);
	const key =
		keyField && body[keyField.name] !== undefined
			? ` ${keyField.name}=${shortValue(body[keyField.name])}`
			: '';
	return `${table.def.name} record${pkey ? ` ${pkey}` : ''}${key}`;
}

function createRecord(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res } = ctx.params;
	const table = resolveTable(state, api, res);
	const body = storedLinks(state, table, parseJsonBody(ctx, RST));
	const values = state.store.coerce(table, body, `the new ${recordLabel(table, body)}`);
	const record = state.store.create(table, values);
	return { status: 201, body: presentRecord(state, table, record, apiBase(state, ctx), api) };
}

function recordRoute(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res, pkey } = ctx.params;
	const table = resolveTable(state, api, res);
	const record = findRecord(state, table, pkey);
	const base = apiBase(state, ctx);
	if (ctx.method === 'GET') {
		return { status: 200, body: presentRecord(state, table, record, base, api) };
	}
	if (ctx.method === 'DELETE') {
		state.store.delete(table, record);
		return { status: 200 };
	}
	const body = storedLinks(state, table, parseJsonBody(ctx, RST));
	if (state.flavor === 'v8' && Object.keys(body).length === 0) return { status: 204 };
	for (const name of Object.keys(body)) {
		if (READ_ONLY_FIELDS.has(name) && name !== 'PKey' && name !== 'href') {
			throw restError(
				500,
				`Cannot update the '${name}' property that is read-only ('${table.def.name}' resource).`,
			);
		}
	}
	const values = state.store.coerce(table, body, recordLabel(table, body, record.pkey));
	state.store.update(table, record, values);
	const shown = presentPKey(state, record.pkey);
	return {
		status: 200,
		body: { PKey: shown, href: `${base}/${recordApi(api, table)}/${table.def.name}/${shown}` },
	};
}

// ---- metadata ----------------------------------------------------------------------------------

/** A stable PKey for a resource's description (its filters href names it). */
function resourceTypePKey(name: string): string {
	return `@${createHash('sha256').update(`resourceType:${name}`).digest('base64url').slice(0, 44)}`;
}

/** Campaign's high-level type and technical type (resType) of a sandbox field. */
function metadataTypes(field: FieldDefinition): { type: string; resType: string } {
	switch (field.type) {
		case 'long':
		case 'double':
			return { type: 'number', resType: field.type };
		case 'datetime':
			return { type: 'date', resType: 'datetime' };
		case 'enumeration':
			return { type: 'enumeration', resType: 'string' };
		default:
			return { type: field.type, resType: field.type };
	}
}

/** The fields as `content` describes them (CS help/api/using/metadata-mechanism.md). */
function fieldContent(table: Table): Record<string, unknown> {
	const content: Record<string, unknown> = {};
	for (const field of table.fields.values()) {
		const entry: Record<string, unknown> = {
			apiName: field.name,
			category: table.def.name,
			dataPolicy: field.dataPolicy ?? 'none',
			label: field.label ?? field.name,
			...metadataTypes(field),
		};
		if (field.length) entry.length = field.length;
		if (field.values) {
			entry.values = Object.fromEntries(
				field.values.map((value) => [value, { label: value, name: value }]),
			);
		}
		if (field.target) entry.resTarget = field.target;
		content[field.name] = entry;
	}
	return content;
}

function metadata(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res } = ctx.params;
	const table = resolveTable(state, api, res);
	const base = apiBase(state, ctx);
	const dataApi = recordApi(api, table);
	return {
		status: 200,
		body: {
			content: fieldContent(table),
			data: `/${dataApi}/${table.def.name}/`,
			filters: { href: `${base}/${api}/resourceType/${resourceTypePKey(table.def.name)}/filters/` },
			help: table.def.label ?? table.def.name,
			href: `${base}/${dataApi}/${table.def.name}/metadata`,
			label: table.def.label ?? table.def.name,
			name: table.def.name,
			type: 'item',
		},
	};
}

/** The filters list: keyed by name, each with its `data` URL template (CS filtering.md). */
function filterList(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, rpkey } = ctx.params;
	const table = [...state.store.tables.values()].find(
		(t) => resourceTypePKey(t.def.name) === decodeURIComponent(rpkey),
	);
	if (!table) throw restError(404, `No resource description has the PKey '${rpkey}'.`);
	resolveTable(state, api, table.def.name);
	const filters: Record<string, unknown> = {};
	for (const filter of table.def.filters ?? []) {
		if (!filterOf(table, api, filter.name)) continue;
		const { param, tieParam } = filterParams(filter);
		const query = [param, ...(tieParam ? [tieParam] : [])].map((p) => `${p}=$value`).join('&');
		filters[filter.name] = {
			PKey: resourceTypePKey(`${table.def.name}/${filter.name}`),
			category: '99_none',
			data: `/${api}/${table.def.name}/${filter.name}?${query}`,
			formType: 'none',
			fragmentName: '',
			label: filter.label ?? filter.name,
		};
	}
	return { status: 200, body: filters };
}

/** `GET profileAndServicesExt/`: the resources linked to the profile (CS custom-resources.md). */
function customResourceList(state: CampaignServiceState, ctx: RequestContext): Reply {
	const base = apiBase(state, ctx);
	const body: Record<string, unknown> = { apiName: 'resourceType' };
	for (const table of state.store.tables.values()) {
		if (table.def.name === 'profile' || table.def.linkedToProfile === false) continue;
		body[table.def.name] = {
			content: fieldContent(table),
			data: `/profileAndServicesExt/${table.def.name}/`,
			help: table.def.label ?? table.def.name,
			href: `${base}/profileAndServicesExt/${table.def.name}/metadata`,
			name: table.def.name,
			type: 'collection',
		};
	}
	return { status: 200, body };
}

const BASE = '^/(?<org>[^/]+)/campaign';
const APIS = '(?<api>profileAndServices|profileAndServicesExt|customResources)';

export function registerCampaignApi(server: SandboxServer, state: CampaignServiceState): void {
	const authed =
		(handler: (s: CampaignServiceState, ctx: RequestContext) => Reply) => (ctx: RequestContext) => {
			authorize(state, ctx);
			return handler(state, ctx);
		};
	server.route('POST', /^\/ims\/token\/v3\/?$/, 'ims:token', (ctx) => issueToken(state, ctx));
	server.route(
		'GET',
		new RegExp(`${BASE}/${APIS}/resourceType/(?<rpkey>(?:@|%40)[^/]+)/filters/?$`),
		'campaign:filters',
		authed(filterList),
	);
	server.route(
		'GET',
		new RegExp(`${BASE}/${APIS}/resourceType/(?<res>[^/]+)/?$`),
		'campaign:metadata',
		authed(metadata),
	);
	server.route(
		'GET',
		new RegExp(`${BASE}/${APIS}/(?<res>[^/]+)/metadata/?$`),
		'campaign:metadata',
		authed(metadata),
	);
	server.route(
		'GET',
		new RegExp(`${BASE}/profileAndServicesExt/?$`),
		'campaign:customResources',
		authed(customResourceList),
	);
	const recordPattern = new RegExp(`${BASE}/${APIS}/(?<res>[^/]+)/(?<pkey>(?:@|%40)[^/]+)/?$`);
	for (const method of ['GET', 'PATCH', 'DELETE']) {
		server.route(method, recordPattern, 'campaign:record', authed(recordRoute));
	}
	const listPattern = new RegExp(
		`${BASE}/${APIS}/(?<res>[^/]+)(?:/(?<filter>[A-Za-z][A-Za-z0-9_]*))?(?:/(?<count>_count))?/?$`,
	);
	server.route('GET', listPattern, 'campaign:list', authed(listRecords));
	server.route(
		'POST',
		new RegExp(`${BASE}/${APIS}/(?<res>[^/]+)/?$`),
		'campaign:create',
		authed(createRecord),
	);
}
