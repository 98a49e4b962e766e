/**
 * The service side of the Campaign sandbox: Adobe IMS's token endpoint, the Adobe I/O gateway's
 * key and token checks, and Campaign Standard's REST resources.
 */
import { randomBytes } from 'node:crypto';
import {
	SandboxHttpError,
	parseJsonBody,
	type Reply,
	type RequestContext,
	type SandboxServer,
} from '../common/server';
import { READ_ONLY_FIELDS } from './schema';
import {
	RST,
	badRequest,
	shortValue,
	type CampaignStore,
	type StoredRecord,
	type Table,
	type Value,
} from './store';

export interface CampaignServiceState {
	store: CampaignStore;
	organizationId: string;
	/** client id → client secret. */
	clients: Map<string, string>;
	/** access token → owner and expiry (ms). */
	tokens: Map<string, { clientId: string; expiresAt: number }>;
	tokenLifetimeSeconds: number;
	allowedScopes: Set<string>;
}

export const MAX_LINE_COUNT = 1000;

/**
 * Error bodies: the Adobe I/O gateway answers auth and throttling problems with
 * `{"error_code":"401013","message":…}`; Campaign itself answers `{"code":status,"message":"RST-… …"}`.
 */
export function formatCampaignError(status: number, code: string, message: string): Reply {
	if (/^\d{6}$/.test(code)) return { status, body: { error_code: code, message } };
	if (status === 429)
		return { status, body: { error_code: '429050', message: 'Too many requests' } };
	const text = code.startsWith('RST-') ? `${code} ${message}` : `${RST} ${message}`;
	return { status, body: { code: status, message: text } };
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
		expiresAt: Date.now() + state.tokenLifetimeSeconds * 1000,
	});
	return {
		status: 200,
		body: { access_token: token, token_type: 'bearer', expires_in: state.tokenLifetimeSeconds },
	};
}

function authorize(state: CampaignServiceState, ctx: RequestContext): void {
	const apiKey = ctx.headers['x-api-key'];
	if (typeof apiKey !== 'string' || !apiKey) {
		throw new SandboxHttpError(403, '403000', 'Api Key is required');
	}
	if (!state.clients.has(apiKey)) throw new SandboxHttpError(403, '403003', 'Api Key is invalid');
	const match = /^Bearer\s+(\S+)$/i.exec(String(ctx.headers.authorization ?? ''));
	const token = match ? state.tokens.get(match[1]) : undefined;
	if (!token || token.expiresAt <= Date.now()) {
		if (token) state.tokens.delete(match![1]);
		throw new SandboxHttpError(401, '401013', 'Oauth token is not valid');
	}
	if (token.clientId !== apiKey) throw new SandboxHttpError(403, '403003', 'Api Key is invalid');
	if (ctx.params.org !== state.organizationId) {
		throw new SandboxHttpError(
			403,
			'403027',
			`User is not authorized for the organization '${decodeURIComponent(ctx.params.org)}'`,
		);
	}
}

type Api = 'profileAndServices' | 'profileAndServicesExt' | 'customResources';

function resolveTable(state: CampaignServiceState, api: string, name: string): Table {
	const table = state.store.table(name);
	const allowed =
		api === 'profileAndServicesExt' ||
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
function recordApi(api: string, resource: string): Api {
	if (resource === 'profile' && api === 'profileAndServices') return 'profileAndServices';
	return 'profileAndServicesExt';
}

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
	table: Table,
	record: StoredRecord,
	base: string,
	api: string,
): Record<string, unknown> {
	const out: Record<string, unknown> = { PKey: record.pkey };
	for (const field of table.def.fields) {
		const value = record.values[field.name];
		if (field.type === 'link') {
			if (value) {
				out[field.name] = {
					PKey: value,
					href: `${base}/${recordApi(api, field.target!)}/${field.target}/${value}`,
				};
			}
			continue;
		}
		out[field.name] = value ?? EMPTY[field.type];
	}
	out.created = record.values.created;
	out.lastModified = record.values.lastModified;
	out.href = `${base}/${recordApi(api, table.def.name)}/${table.def.name}/${record.pkey}`;
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

function listRecords(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res } = ctx.params;
	const table = resolveTable(state, api, res);
	const params = ctx.url.searchParams;
	const filterName = ctx.params.filter ? decodeURIComponent(ctx.params.filter) : undefined;
	const filter = filterName ? table.filter(filterName) : undefined;
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
		content: page.records.map((r) => presentRecord(table, r, base, api)),
		count: { href: `${listPath}/_count?${countParams.toString()}` },
		serverSidePagination: true,
	};
	if (page.nextCursor) {
		const next = new URLSearchParams(params);
		next.set('_lineCount', String(lineCount));
		next.set('_lineStart', encodeLineStart(page.nextCursor));
		body.next = { href: `${listPath}?${next.toString()}` };
	}
	return { status: 200, body };
}

function findRecord(table: Table, rawPKey: string): StoredRecord {
	const pkey = decodeURIComponent(rawPKey);
	const record = table.records.get(pkey);
	if (!record) {
		throw new SandboxHttpError(404, RST, `No '${table.def.name}' record has the PKey '${pkey}'.`);
	}
	return record;
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
	const body = parseJsonBody(ctx, RST);
	const values = state.store.coerce(table, body, `the new ${recordLabel(table, body)}`);
	const record = state.store.create(table, values);
	return { status: 201, body: presentRecord(table, record, apiBase(state, ctx), api) };
}

function recordRoute(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res, pkey } = ctx.params;
	const table = resolveTable(state, api, res);
	const record = findRecord(table, pkey);
	const base = apiBase(state, ctx);
	if (ctx.method === 'GET') return { status: 200, body: presentRecord(table, record, base, api) };
	if (ctx.method === 'DELETE') {
		state.store.delete(table, record);
		return { status: 200 };
	}
	const body = parseJsonBody(ctx, RST);
	for (const name of Object.keys(body)) {
		if (READ_ONLY_FIELDS.has(name) && name !== 'PKey' && name !== 'href') {
			throw badRequest(
				`Field '${name}' of ${recordLabel(table, body, record.pkey)} is maintained by Campaign and cannot be written.`,
			);
		}
	}
	const values = state.store.coerce(table, body, recordLabel(table, body, record.pkey));
	state.store.update(table, record, values);
	return {
		status: 200,
		body: {
			PKey: record.pkey,
			href: `${base}/${recordApi(api, table.def.name)}/${table.def.name}/${record.pkey}`,
		},
	};
}

function metadata(state: CampaignServiceState, ctx: RequestContext): Reply {
	const { api, res } = ctx.params;
	const table = resolveTable(state, api, res);
	const base = apiBase(state, ctx);
	const listPath = `${base}/${recordApi(api, table.def.name)}/${table.def.name}`;
	const content: Record<string, unknown> = {};
	for (const field of table.fields.values()) {
		const entry: Record<string, unknown> = {
			apiName: field.name,
			label: field.label ?? field.name,
			type: field.type,
		};
		if (field.length) entry.length = field.length;
		if (field.values) entry.values = field.values.map((value) => ({ value, label: value }));
		if (field.unique || field.name === 'PKey') entry.unique = true;
		if (field.target) entry.target = field.target;
		if (READ_ONLY_FIELDS.has(field.name)) entry.readOnly = true;
		content[field.name] = entry;
	}
	const filters: Record<string, unknown> = {};
	for (const filter of table.def.filters ?? []) {
		const names = [filter.param ?? filter.field];
		if (filter.kind === 'after' && filter.tieField) names.push(filter.tieParam ?? filter.tieField);
		const fieldOf = [filter.field, filter.tieField];
		const parameters: Record<string, unknown> = {};
		names.forEach((name, i) => {
			const field = table.fields.get(fieldOf[i]!)!;
			parameters[name] = { label: field.label ?? field.name, type: field.type };
		});
		filters[filter.name] = {
			label: filter.label ?? filter.name,
			href: `${listPath}/${filter.name}?${names.map((n) => `${n}=`).join('&')}`,
			parameters,
		};
	}
	return {
		status: 200,
		body: {
			name: table.def.name,
			label: table.def.label ?? table.def.name,
			href: `${base}/${api}/resourceType/${table.def.name}`,
			content,
			filters,
		},
	};
}

function customResourceList(state: CampaignServiceState, ctx: RequestContext): Reply {
	const base = apiBase(state, ctx);
	const content = [...state.store.tables.values()]
		.filter((t) => t.def.name !== 'profile')
		.map((t) => ({
			name: t.def.name,
			label: t.def.label ?? t.def.name,
			href: `${base}/profileAndServicesExt/${t.def.name}`,
			metadata: { href: `${base}/profileAndServicesExt/resourceType/${t.def.name}` },
		}));
	return { status: 200, body: { content } };
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
	const metadataPattern = new RegExp(
		`${BASE}/(?<api>profileAndServices|profileAndServicesExt)/resourceType/(?<res>[^/]+)/?$`,
	);
	server.route('GET', metadataPattern, 'campaign:metadata', authed(metadata));
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
		`${BASE}/${APIS}/(?<res>[^/]+)(?:/(?<filter>by[A-Za-z0-9_]+))?(?:/(?<count>_count))?/?$`,
	);
	server.route('GET', listPattern, 'campaign:list', authed(listRecords));
	server.route(
		'POST',
		new RegExp(`${BASE}/${APIS}/(?<res>[^/]+)/?$`),
		'campaign:create',
		authed(createRecord),
	);
}
