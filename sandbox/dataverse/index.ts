/**
 * The Dataverse sandbox: a loopback HTTP server playing Microsoft Entra ID's token endpoint and the
 * Dataverse Web API (`/api/data/v9.2/`), with service protection limits and an admin API.
 */
import fs from 'node:fs';
import { SandboxHttpError, SandboxServer, type Reply, type RequestContext } from '../common/server';
import { SANDBOX_DEFAULTS } from '../defaults';
import type { ServiceProtectionLimits } from './admin';
import { dataverseAdminError, registerDataverseAdmin } from './admin-routes';
import { DataverseApi, errorReply } from './api';
import { TokenAuthority, type ClientCredentials } from './auth';
import { executeBatch, parseBatch } from './batch';
import { generateDemoData } from './demo';
import { API_PATH, parsePrefer } from './query';
import { stableGuid } from './schema';
import { Store, StoreError } from './store';

export type { TableDefinition, ColumnDefinition, KeyDefinition } from './schema';
export { DataverseSandboxAdmin } from './admin';
export type * from './admin';
export { Store } from './store';

export interface DataverseSandboxOptions {
	host?: string;
	/** 0 picks a free port. */
	port?: number;
	tenantId?: string;
	clients?: ClientCredentials[];
	tokenLifetimeSeconds?: number;
	seed?: number;
	/** Contacts to generate at start and on reset (default 50). */
	demoRecords?: number;
	/** Loads the state from this JSON file at start when it exists; saves it on close. */
	persistFile?: string;
}

export interface DataverseSandbox {
	/** The environment URL (base URL); the Web API is at `${url}/api/data/v9.2/`. */
	url: string;
	tenantId: string;
	/** `${url}/${tenantId}/oauth2/v2.0/token`: point the credential's authority host at `url`. */
	tokenUrl: string;
	server: SandboxServer;
	/** Direct access to the state, for tests. */
	readonly store: Store;
	api: DataverseApi;
	close(): Promise<void>;
}

const SERVICE_PROTECTION = {
	requests: {
		code: '0x80072322',
		message: (n: number, w: number) =>
			`Number of requests exceeded the limit of ${n} over time window of ${w} seconds.`,
	},
	time: {
		code: '0x80072321',
		message: (n: number, w: number) =>
			`Combined execution time of incoming requests exceeded limit of ${n.toLocaleString('en-US')}  milliseconds over time window of ${w} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
	},
	concurrency: {
		code: '0x80072326',
		message: (n: number) => `Number of concurrent requests exceeded the limit of ${n}.`,
	},
};

/**
 * Entries in time order within a sliding window: pruned from the front, with a running sum, so a
 * long run of requests costs the same per request as a short one.
 */
class Window {
	private at: number[] = [];
	private values: number[] = [];
	private head = 0;
	sum = 0;

	get size(): number {
		return this.at.length - this.head;
	}

	/** The time of the i-th entry still in the window (0 = oldest). */
	timeAt(i: number): number {
		return this.at[this.head + i];
	}

	push(at: number, value = 0): void {
		this.at.push(at);
		this.values.push(value);
		this.sum += value;
	}

	/** Drops the entries at or before `since`. */
	prune(since: number): void {
		while (this.head < this.at.length && this.at[this.head] <= since) {
			this.sum -= this.values[this.head];
			this.head++;
		}
		if (this.head > 1024 && this.head * 2 > this.at.length) {
			this.at = this.at.slice(this.head);
			this.values = this.values.slice(this.head);
			this.head = 0;
		}
	}
}

/** Per-client sliding windows of request times and execution time, and in-flight counts. */
class ServiceProtection {
	limits: ServiceProtectionLimits = {};
	private readonly requests = new Map<string, Window>();
	private readonly executions = new Map<string, Window>();
	private readonly inFlight = new Map<string, number>();

	private window(windows: Map<string, Window>, clientId: string): Window {
		let window = windows.get(clientId);
		if (!window) windows.set(clientId, (window = new Window()));
		return window;
	}

	enter(clientId: string): void {
		const limits = this.limits;
		const now = Date.now();
		const windowMs = (limits.windowSeconds ?? 300) * 1000;
		const retry = (freeAt: number) =>
			String(limits.retryAfterSeconds ?? Math.max(1, Math.ceil((freeAt - now) / 1000)));
		const times = this.window(this.requests, clientId);
		times.prune(now - windowMs);
		const executions = this.window(this.executions, clientId);
		executions.prune(now - windowMs);
		if (
			limits.maxConcurrent !== undefined &&
			(this.inFlight.get(clientId) ?? 0) >= limits.maxConcurrent
		) {
			throw new SandboxHttpError(
				429,
				SERVICE_PROTECTION.concurrency.code,
				SERVICE_PROTECTION.concurrency.message(limits.maxConcurrent),
				{
					'Retry-After': String(limits.retryAfterSeconds ?? 1),
				},
			);
		}
		if (limits.maxRequests !== undefined && times.size >= limits.maxRequests) {
			throw new SandboxHttpError(
				429,
				SERVICE_PROTECTION.requests.code,
				SERVICE_PROTECTION.requests.message(limits.maxRequests, limits.windowSeconds ?? 300),
				{ 'Retry-After': retry(times.timeAt(times.size - limits.maxRequests) + windowMs) },
			);
		}
		if (limits.maxExecutionMs !== undefined && executions.sum >= limits.maxExecutionMs) {
			throw new SandboxHttpError(
				429,
				SERVICE_PROTECTION.time.code,
				SERVICE_PROTECTION.time.message(limits.maxExecutionMs, limits.windowSeconds ?? 300),
				{ 'Retry-After': retry(executions.timeAt(0) + windowMs) },
			);
		}
		times.push(now);
		this.inFlight.set(clientId, (this.inFlight.get(clientId) ?? 0) + 1);
	}

	leave(clientId: string, startedAt: number): void {
		this.inFlight.set(clientId, Math.max(0, (this.inFlight.get(clientId) ?? 1) - 1));
		const now = Date.now();
		this.window(this.executions, clientId).push(now, now - startedAt);
	}

	reset(): void {
		this.requests.clear();
		this.executions.clear();
		this.inFlight.clear();
	}
}

/** Dataverse's error JSON for errors raised by the shared plumbing (faults, unknown routes). */
function formatError(status: number, code: string, message: string): Reply {
	if (code === 'TooManyRequests') {
		return errorReply(
			429,
			SERVICE_PROTECTION.requests.code,
			SERVICE_PROTECTION.requests.message(6000, 300),
		);
	}
	if (code === 'NotFound' || code === 'MethodNotAllowed')
		return errorReply(status, '0x80060888', message);
	if (!/^(0x[0-9a-fA-F]+|-?\d+|)$/.test(code)) {
		return errorReply(
			status,
			'0x80040216',
			status === 503 ? message : `An unexpected error occurred. ${message}`.trim(),
		);
	}
	return errorReply(status, code, message);
}

function headerRecord(ctx: RequestContext): Record<string, string | undefined> {
	const out: Record<string, string | undefined> = {};
	for (const [name, value] of Object.entries(ctx.headers)) {
		out[name] = Array.isArray(value) ? value.join(',') : value;
	}
	return out;
}

export async function startDataverseSandbox(
	options: DataverseSandboxOptions = {},
): Promise<DataverseSandbox> {
	const defaults = SANDBOX_DEFAULTS.dataverse;
	const tenantId = options.tenantId ?? defaults.tenantId;
	const clients = options.clients ?? [
		{ clientId: defaults.clientId, clientSecret: defaults.clientSecret },
	];
	const seed = options.seed ?? 1;
	const demoRecords = options.demoRecords ?? 50;
	const identity = {
		userId: stableGuid(`systemuser:${tenantId}`),
		businessUnitId: stableGuid(`businessunit:${tenantId}`),
		organizationId: stableGuid(`organization:${tenantId}`),
	};
	const authority = new TokenAuthority(
		tenantId,
		clients,
		options.tokenLifetimeSeconds ?? defaults.tokenLifetimeSeconds,
	);
	const protection = new ServiceProtection();

	const freshStore = (contacts: number, demoSeed: number): Store => {
		const store = new Store();
		store.defaultOwnerId = identity.userId;
		generateDemoData(store, { seed: demoSeed, contacts, ownerId: identity.userId });
		return store;
	};
	let initial: Store;
	if (options.persistFile && fs.existsSync(options.persistFile)) {
		initial = Store.fromJSON(JSON.parse(fs.readFileSync(options.persistFile, 'utf8')));
		initial.defaultOwnerId = identity.userId;
	} else {
		initial = freshStore(demoRecords, seed);
	}
	const api = new DataverseApi(initial, identity);
	let url = '';

	const server = new SandboxServer({
		host: options.host ?? SANDBOX_DEFAULTS.host,
		port: options.port ?? 0,
		formatError,
		tokenExpiredReply: () => authority.unauthorized(url, true),
		formatAdminError: dataverseAdminError,
	});

	const save = () => {
		if (options.persistFile)
			fs.writeFileSync(options.persistFile, JSON.stringify(api.store.toJSON()));
	};

	// Token endpoint (Entra ID shape).
	server.route('POST', /^\/(?<tenant>[^/]+)\/oauth2\/v2\.0\/token$/, 'token', (ctx) =>
		authority.issue(ctx.params.tenant, ctx.rawBody, url),
	);

	const webApi = async (ctx: RequestContext): Promise<Reply> => {
		const auth = authority.authenticate(ctx.req.headers.authorization, url);
		if (!('clientId' in auth)) return auth;
		const startedAt = Date.now();
		protection.enter(auth.clientId);
		try {
			const duration = protection.limits.requestDurationMs ?? 0;
			if (duration > 0) await new Promise((resolve) => setTimeout(resolve, duration));
			const headers = headerRecord(ctx);
			const path = ctx.url.pathname.slice(API_PATH.length);
			if (path === '$batch') {
				if (ctx.method !== 'POST')
					throw new SandboxHttpError(405, '0x80060888', "Only POST is allowed for '$batch'.");
				try {
					const items = parseBatch(ctx.rawBody, headers['content-type']);
					const reply = executeBatch(
						api,
						items,
						headers,
						url,
						parsePrefer(headers.prefer).continueOnError,
					);
					// The batch ran; its answer is lost, as when a gateway times out.
					if (api.takeBehavior('lostBatchAnswers')) ctx.req.socket.destroy();
					return reply;
				} catch (error) {
					if (error instanceof StoreError)
						return errorReply(error.status, error.code, error.message);
					throw error;
				}
			}
			return api.execute({
				method: ctx.method,
				path,
				query: ctx.url.searchParams,
				headers,
				body: ctx.rawBody,
				baseUrl: url,
			});
		} finally {
			protection.leave(auth.clientId, startedAt);
		}
	};

	const methods = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'];
	server.route('POST', /^\/api\/data\/v9\.2\/\$batch$/, '$batch', webApi);
	for (const method of ['GET', 'POST']) {
		server.route(
			method,
			/^\/api\/data\/v9\.2\/EntityDefinitions(?:[(/].*)?$/,
			'EntityDefinitions',
			webApi,
		);
	}
	// Named routes for the default tables give readable request counters ("GET contacts").
	for (const state of initial.tables.values()) {
		const set = state.table.entitySetName;
		for (const method of methods)
			server.route(method, new RegExp(`^/api/data/v9\\.2/${set}(?:[(/].*)?$`), set, webApi);
	}
	for (const method of methods) server.route(method, /^\/api\/data\/v9\.2\/.*$/, 'api', webApi);

	registerDataverseAdmin(server, {
		api,
		authority,
		protection,
		tenantId,
		clients,
		url: () => url,
		seed,
		demoRecords,
		freshStore,
		ownerId: identity.userId,
		save: options.persistFile ? save : undefined,
	});

	url = await server.listen();
	return {
		url,
		tenantId,
		tokenUrl: `${url}/${tenantId}/oauth2/v2.0/token`,
		server,
		get store() {
			return api.store;
		},
		api,
		async close() {
			save();
			await server.close();
		},
	};
}
