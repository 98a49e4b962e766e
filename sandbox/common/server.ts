/**
 * The HTTP plumbing both sandboxes share: a small router, latency, fault injection (by rate or by
 * script), and request counters per route. Each service brings its own routes and its own error
 * shape; admin routes (`/_sandbox/...`) answer loopback clients only and are never delayed, faulted
 * or counted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = '429' | '500' | '503' | 'reset' | 'timeout' | 'tokenExpiry';

export interface FaultScriptEntry {
	kind: FaultKind;
	/** Only requests whose route name matches this regular expression (default: any). */
	route?: string;
	/** Seconds for 429's `Retry-After` (default 1). */
	retryAfter?: number;
	/** Let this many matching requests through first (e.g. fault the third `$batch` of a run). */
	after?: number;
}

export interface FaultSettings {
	/** Probability in [0, 1] that a request gets a fault drawn from `kinds`. */
	rate?: number;
	kinds?: FaultKind[];
	/** Seed for the random draws, so a failing run can be replayed. */
	seed?: number;
	/** Faults applied, in order, to the next matching requests (before rate-based faults). */
	script?: FaultScriptEntry[];
	/** Only requests whose route name matches this regular expression are faulted by rate. */
	route?: string;
	/** Seconds for 429's `Retry-After` (default 1). */
	retryAfter?: number;
	/** How long a `timeout` fault holds the connection before dropping it (default 30000 ms). */
	timeoutMs?: number;
	/**
	 * A gateway's concurrency throttle: a request that arrives while this many are already being
	 * served gets 429 with `Retry-After` (counted under `injected['429']`).
	 */
	maxConcurrent?: number;
	/**
	 * A gateway's rate limit: at most this many requests per second (a bucket that holds one
	 * second's worth and refills steadily); a request beyond it gets 429 with `Retry-After` and does
	 * not count against the rate.
	 */
	maxPerSecond?: number;
	/** Read-only: faults injected since these settings were set, by kind. */
	injected?: Partial<Record<FaultKind, number>>;
	/**
	 * Read-only, with `maxConcurrent`: the requests served since these settings were set and the
	 * time they held their places in all (from arrival to the end of the answer), so a benchmark can
	 * tell the most a client could get: `maxConcurrent` ÷ the mean time a place is held.
	 */
	held?: { requests: number; ms: number };
}

export interface Reply {
	status: number;
	headers?: Record<string, string>;
	/** Objects are sent as JSON; strings as is; undefined as an empty body. */
	body?: unknown;
}

export interface RequestContext {
	req: http.IncomingMessage;
	method: string;
	url: URL;
	/** Named groups of the route's pattern. */
	params: Record<string, string>;
	headers: http.IncomingHttpHeaders;
	rawBody: string;
	/** The base URL of this server, e.g. `http://127.0.0.1:7071`. */
	baseUrl: string;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

/** An admin route's work: what it returns is the JSON answer (200); nothing answers 204. */
export type AdminHandler = (ctx: RequestContext) => unknown;

/** True for a client on this machine: 127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6. */
export function isLoopback(address: string | undefined): boolean {
	const a = address ?? '';
	return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

interface Route {
	method: string;
	pattern: RegExp;
	name: string;
	handler: Handler;
	admin: boolean;
}

/** A service-specific error body for a status, code and message. */
export type ErrorFormatter = (status: number, code: string, message: string) => Reply;

/** Thrown by handlers to answer with the service's error shape. */
export class SandboxHttpError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly headers: Record<string, string> = {},
	) {
		super(message);
	}
}

/** mulberry32: small, fast, seedable. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export interface SandboxServerOptions {
	host?: string;
	/** 0 picks a free port. */
	port?: number;
	formatError: ErrorFormatter;
	/** What an expired or revoked token gets on this service (used by the `tokenExpiry` fault). */
	tokenExpiredReply: () => Reply;
	/**
	 * The answer to an error thrown by an admin route (a refused client included); by default a
	 * `SandboxHttpError` gets `formatError` and any other error answers 500.
	 */
	formatAdminError?: (error: unknown) => Reply;
	/** Largest accepted request body, in bytes. */
	maxBodyBytes?: number;
}

export class SandboxServer {
	private readonly routes: Route[] = [];
	private server?: http.Server;
	private latencyMs = 0;
	private faults: FaultSettings = {};
	private random: () => number = seededRandom(1);
	private readonly counters = new Map<string, number>();
	private inFlight = 0;
	/** The rate limit's bucket: requests it still lets through, and when it was last refilled. */
	private bucket = { tokens: 0, at: 0 };
	private readonly sockets = new Set<import('node:net').Socket>();
	baseUrl = '';

	constructor(private readonly options: SandboxServerOptions) {}

	/** A service route: `pattern` is matched against the path (without query string). */
	route(method: string, pattern: RegExp, name: string, handler: Handler): this {
		this.routes.push({ method, pattern, name, handler, admin: false });
		return this;
	}

	/**
	 * An admin route, `/_sandbox/<path>` (`path` is a regular expression, named groups become
	 * params): loopback clients only; never delayed, faulted or counted.
	 */
	admin(method: string, path: string, handler: AdminHandler): this {
		const run: Handler = async (ctx) => {
			try {
				if (!isLoopback(ctx.req.socket.remoteAddress)) {
					throw new SandboxHttpError(
						403,
						'Forbidden',
						'The sandbox admin API answers loopback clients only.',
					);
				}
				const body = await handler(ctx);
				return body === undefined ? { status: 204 } : { status: 200, body };
			} catch (error) {
				if (this.options.formatAdminError) return this.options.formatAdminError(error);
				throw error;
			}
		};
		const pattern = new RegExp(`^/_sandbox/${path}/?$`);
		this.routes.push({ method, pattern, name: `admin ${path}`, handler: run, admin: true });
		return this;
	}

	setLatency(ms: number): void {
		this.latencyMs = Math.max(0, ms);
	}

	/** The delay every service request gets before it is served, in ms. */
	getLatency(): number {
		return this.latencyMs;
	}

	setFaults(settings: FaultSettings): void {
		this.faults = {
			...settings,
			script: [...(settings.script ?? [])],
			injected: {},
			held: undefined,
		};
		this.random = seededRandom(settings.seed ?? 1);
		this.bucket = { tokens: settings.maxPerSecond ?? 0, at: Date.now() };
	}

	/** The settings in force, with how many faults of each kind they have injected so far. */
	getFaults(): FaultSettings {
		return this.faults;
	}

	/** Requests per route name, e.g. `{ "GET contacts": 12 }`. */
	getCounters(): Record<string, number> {
		return Object.fromEntries(this.counters);
	}

	resetCounters(): void {
		this.counters.clear();
	}

	async listen(): Promise<string> {
		const host = this.options.host ?? '127.0.0.1';
		this.server = http.createServer((req, res) => {
			this.handle(req, res).catch((error) => {
				// A bug in a handler must never take the server down: answer 500 in the service's shape.
				if (!res.headersSent) {
					this.send(
						res,
						this.options.formatError(500, 'InternalError', String(error?.message ?? error)),
					);
				} else {
					res.destroy();
				}
			});
		});
		this.server.keepAliveTimeout = 5000;
		this.server.on('connection', (socket) => {
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
		});
		await new Promise<void>((resolve, reject) => {
			this.server!.once('error', reject);
			this.server!.listen(this.options.port ?? 0, host, () => resolve());
		});
		const { port } = this.server.address() as AddressInfo;
		this.baseUrl = `http://${host}:${port}`;
		return this.baseUrl;
	}

	/** The socket address the server really listens on (undefined when not listening). */
	address(): AddressInfo | undefined {
		const address = this.server?.address();
		return address && typeof address === 'object' ? address : undefined;
	}

	async close(): Promise<void> {
		if (!this.server) return;
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => this.server!.close(() => resolve()));
		this.server = undefined;
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', this.baseUrl || 'http://127.0.0.1');
		const method = (req.method ?? 'GET').toUpperCase();
		const rawBody = await this.readBody(req);
		if (rawBody === undefined) {
			this.send(
				res,
				this.options.formatError(413, 'RequestEntityTooLarge', 'Request body too large'),
			);
			return;
		}
		let pathMatched = false;
		for (const route of this.routes) {
			const match = route.pattern.exec(url.pathname);
			if (!match) continue;
			pathMatched = true;
			if (route.method !== method) continue;
			if (!route.admin) {
				this.counters.set(
					`${method} ${route.name}`,
					(this.counters.get(`${method} ${route.name}`) ?? 0) + 1,
				);
				if (this.throttled(res)) return;
				if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
				if (await this.injectFault(route, res)) return;
			}
			const ctx: RequestContext = {
				req,
				method,
				url,
				params: { ...(match.groups ?? {}) },
				headers: req.headers,
				rawBody,
				baseUrl: this.baseUrl,
			};
			let reply: Reply;
			try {
				reply = await route.handler(ctx);
			} catch (error) {
				if (error instanceof SandboxHttpError) {
					reply = this.options.formatError(error.status, error.code, error.message);
					reply.headers = { ...(reply.headers ?? {}), ...error.headers };
				} else {
					throw error;
				}
			}
			this.send(res, reply);
			return;
		}
		this.send(
			res,
			pathMatched
				? this.options.formatError(
						405,
						'MethodNotAllowed',
						`The HTTP method '${method}' is not allowed for ${url.pathname}`,
					)
				: this.options.formatError(
						404,
						'NotFound',
						`Resource not found for the segment '${url.pathname}'.`,
					),
		);
	}

	/** 429 in the service's error shape, with `Retry-After` in seconds. */
	private tooManyRequests(res: http.ServerResponse, retryAfter: string): void {
		const reply = this.options.formatError(
			429,
			'TooManyRequests',
			'Number of requests exceeded the limit.',
		);
		reply.headers = { ...(reply.headers ?? {}), 'Retry-After': retryAfter };
		this.send(res, reply);
	}

	/** The rate and concurrency throttles: true when the request was answered 429. */
	private throttled(res: http.ServerResponse): boolean {
		const rate = this.faults.maxPerSecond;
		if (rate !== undefined) {
			const now = Date.now();
			this.bucket.tokens = Math.min(
				rate,
				this.bucket.tokens + ((now - this.bucket.at) / 1000) * rate,
			);
			this.bucket.at = now;
			if (this.bucket.tokens < 1) return this.refuse(res);
			this.bucket.tokens -= 1;
		}
		const max = this.faults.maxConcurrent;
		if (max === undefined) return false;
		if (this.inFlight >= max) return this.refuse(res);
		this.inFlight++;
		const arrived = Date.now();
		const held = (this.faults.held ??= { requests: 0, ms: 0 });
		res.once('close', () => {
			this.inFlight--;
			held.requests++;
			held.ms += Date.now() - arrived;
		});
		return false;
	}

	/** Answers a throttled request 429 and counts it. */
	private refuse(res: http.ServerResponse): true {
		const injected = (this.faults.injected ??= {});
		injected['429'] = (injected['429'] ?? 0) + 1;
		this.tooManyRequests(res, String(this.faults.retryAfter ?? 1));
		return true;
	}

	/** Applies the next scripted fault or a rate-drawn one; true when the request was consumed. */
	private async injectFault(route: Route, res: http.ServerResponse): Promise<boolean> {
		const script = this.faults.script ?? [];
		let fault: FaultScriptEntry | undefined;
		const index = script.findIndex((f) => !f.route || new RegExp(f.route).test(route.name));
		if (index >= 0 && (script[index].after ?? 0) > 0) {
			script[index] = { ...script[index], after: (script[index].after ?? 0) - 1 };
		} else if (index >= 0) {
			fault = script.splice(index, 1)[0];
		} else if (
			this.faults.rate &&
			this.faults.kinds?.length &&
			(!this.faults.route || new RegExp(this.faults.route).test(route.name)) &&
			this.random() < this.faults.rate
		) {
			const kinds = this.faults.kinds;
			fault = { kind: kinds[Math.floor(this.random() * kinds.length)] };
			// A token endpoint never answers "your access token expired": that fault belongs to API calls.
			if (fault.kind === 'tokenExpiry' && /(^|:)token$/.test(route.name)) fault = undefined;
		}
		if (!fault) return false;
		const injected = (this.faults.injected ??= {});
		injected[fault.kind] = (injected[fault.kind] ?? 0) + 1;
		const retryAfter = String(fault.retryAfter ?? this.faults.retryAfter ?? 1);
		switch (fault.kind) {
			case '429':
				this.tooManyRequests(res, retryAfter);
				return true;
			case '500':
				this.send(
					res,
					this.options.formatError(500, 'InternalServerError', 'An unexpected error occurred.'),
				);
				return true;
			case '503':
				this.send(
					res,
					this.options.formatError(
						503,
						'ServiceUnavailable',
						'The service is temporarily unavailable.',
					),
				);
				return true;
			case 'tokenExpiry':
				this.send(res, this.options.tokenExpiredReply());
				return true;
			case 'reset':
				res.socket?.destroy();
				return true;
			case 'timeout':
				await new Promise((r) => setTimeout(r, this.faults.timeoutMs ?? 30000));
				res.socket?.destroy();
				return true;
		}
		return false;
	}

	private readBody(req: http.IncomingMessage): Promise<string | undefined> {
		const limit = this.options.maxBodyBytes ?? 64 * 1024 * 1024;
		return new Promise((resolve, reject) => {
			const chunks: Buffer[] = [];
			let size = 0;
			let tooLarge = false;
			req.on('data', (chunk: Buffer) => {
				size += chunk.length;
				if (size > limit) tooLarge = true;
				else chunks.push(chunk);
			});
			req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
			req.on('error', reject);
		});
	}

	private send(res: http.ServerResponse, reply: Reply): void {
		const headers: Record<string, string> = { ...(reply.headers ?? {}) };
		let payload: string | undefined;
		if (reply.body === undefined || reply.body === null) {
			payload = undefined;
		} else if (typeof reply.body === 'string') {
			payload = reply.body;
		} else {
			payload = JSON.stringify(reply.body);
			if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
				headers['Content-Type'] = 'application/json; charset=utf-8';
			}
		}
		if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
		res.writeHead(reply.status, headers);
		res.end(payload);
	}
}

/** Parses a JSON request body, answering 400 in the service's shape when it is not JSON. */
export function parseJsonBody(ctx: RequestContext, code = 'BadRequest'): Record<string, unknown> {
	if (!ctx.rawBody) return {};
	try {
		const parsed = JSON.parse(ctx.rawBody);
		if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
			throw new Error('not an object');
		}
		return parsed as Record<string, unknown>;
	} catch {
		throw new SandboxHttpError(400, code, 'The request body is not valid JSON.');
	}
}
