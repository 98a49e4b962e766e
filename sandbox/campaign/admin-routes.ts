/** The Campaign sandbox's admin API under `/_sandbox/` (no auth, loopback clients only). */
import {
	SandboxHttpError,
	parseJsonBody,
	type FaultSettings,
	type Reply,
	type RequestContext,
	type SandboxServer,
} from '../common/server';
import { DEFAULT_BIG_TABLE_THRESHOLD, type CampaignServiceState } from './api';
import { generateProfiles, simulateDelivery, type SimulateDeliveryOptions } from './generate';
import { validateDefinition, type ResourceDefinition } from './schema';
import { badRequest, type StoredRecord, type Table } from './store';
import type { AdminRecord, CampaignOptions } from './types';

function adminRecord(record: StoredRecord): AdminRecord {
	return { PKey: record.pkey, ...record.values };
}

function isLoopback(ctx: RequestContext): boolean {
	const address = ctx.req.socket.remoteAddress ?? '';
	return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function tableOf(state: CampaignServiceState, name: string): Table {
	const table = state.store.table(decodeURIComponent(name));
	if (!table) throw new SandboxHttpError(404, 'RST-360011', `Unknown resource '${name}'.`);
	return table;
}

function recordOf(table: Table, pkey: string): StoredRecord {
	const record = table.records.get(decodeURIComponent(pkey));
	if (!record) {
		throw new SandboxHttpError(
			404,
			'RST-360011',
			`No '${table.def.name}' record has the PKey '${pkey}'.`,
		);
	}
	return record;
}

export function registerCampaignAdmin(server: SandboxServer, state: CampaignServiceState): void {
	let deliveries = 0;
	const admin = (
		method: string,
		path: string,
		name: string,
		handler: (ctx: RequestContext) => Reply,
	) => {
		server.admin(method, new RegExp(`^/_sandbox/${path}/?$`), name, (ctx) => {
			if (!isLoopback(ctx)) {
				throw new SandboxHttpError(
					403,
					'Forbidden',
					'The admin API answers loopback clients only.',
				);
			}
			return handler(ctx);
		});
	};
	const ok = (body?: unknown): Reply => ({ status: 200, body: body ?? { ok: true } });
	const store = state.store;

	admin('POST', 'reset', 'reset', (ctx) => {
		const body = parseJsonBody(ctx);
		store.reset(typeof body.seed === 'number' ? body.seed : undefined);
		// Issued tokens stay valid: a reset changes data, not who is signed in.
		deliveries = 0;
		state.bigTableThreshold = DEFAULT_BIG_TABLE_THRESHOLD;
		state.flavor = 'standard';
		server.setLatency(0);
		server.setFaults({});
		server.resetCounters();
		if (typeof body.profiles === 'number' && body.profiles > 0) {
			generateProfiles(store, { count: body.profiles, seed: (body.seed as number) ?? 1 });
		}
		return ok();
	});

	admin('GET', 'resources', 'resources', () =>
		ok({ resources: [...store.tables.values()].map((t) => t.def) }),
	);
	admin('POST', 'resources', 'define', (ctx) => {
		const def = parseJsonBody(ctx) as unknown as ResourceDefinition;
		const known = new Set(store.tables.keys());
		const problems = validateDefinition(def, known);
		if (problems.length) throw badRequest(problems.join(' '));
		store.define(def);
		return ok({ resource: def.name });
	});

	admin('POST', 'profiles/generate', 'generate', (ctx) => {
		const body = parseJsonBody(ctx);
		const count = Number(body.count);
		if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
			throw badRequest("'count' must be an integer from 1 to 1000000.");
		}
		const externalIds = Array.isArray(body.externalIds) ? body.externalIds.map(String) : undefined;
		const created = generateProfiles(store, {
			count,
			seed: typeof body.seed === 'number' ? body.seed : undefined,
			externalIds,
		});
		return ok({ created: created.length, pkeys: created.slice(0, 1000).map((r) => r.pkey) });
	});

	admin('GET', 'records/(?<res>[^/]+)', 'dump', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		const records = [...table.records.values()].sort((a, b) => a.seq - b.seq).map(adminRecord);
		return ok({ resource: table.def.name, count: records.length, records });
	});
	admin('POST', 'records/(?<res>[^/]+)', 'insert', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		const body = parseJsonBody(ctx);
		if (!Array.isArray(body.records)) throw badRequest("'records' must be an array.");
		// Check every record before writing any, so a bad seed leaves no half-written state.
		const values = body.records.map((r: Record<string, unknown>, i: number) =>
			store.coerce(table, r ?? {}, `record #${i} for '${table.def.name}'`, { admin: true }),
		);
		const created = values.map((v) =>
			store.create(table, v, { bypassUnique: body.bypassUnique === true }),
		);
		return ok({ records: created.map(adminRecord) });
	});
	admin('GET', 'records/(?<res>[^/]+)/(?<pkey>[^/]+)', 'read', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		return ok(adminRecord(recordOf(table, ctx.params.pkey)));
	});
	admin('PATCH', 'records/(?<res>[^/]+)/(?<pkey>[^/]+)', 'edit', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		const record = recordOf(table, ctx.params.pkey);
		const values = store.coerce(
			table,
			parseJsonBody(ctx),
			`'${table.def.name}' record ${record.pkey}`,
			{ admin: true },
		);
		store.update(table, record, values);
		return ok(adminRecord(record));
	});
	admin('DELETE', 'records/(?<res>[^/]+)/(?<pkey>[^/]+)', 'delete', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		store.delete(table, recordOf(table, ctx.params.pkey));
		return ok();
	});

	admin('POST', 'deliveries', 'delivery', (ctx) => {
		const body = parseJsonBody(ctx) as SimulateDeliveryOptions;
		try {
			return ok(simulateDelivery(store, body, ++deliveries));
		} catch (error) {
			throw badRequest((error as Error).message);
		}
	});

	const options = (): CampaignOptions => ({
		bigTableThreshold: state.bigTableThreshold,
		flavor: state.flavor,
	});
	admin('GET', 'options', 'options', () => ok(options()));
	admin('POST', 'options', 'setOptions', (ctx) => {
		const body = parseJsonBody(ctx) as Partial<CampaignOptions>;
		if (body.bigTableThreshold !== undefined) {
			const n = Number(body.bigTableThreshold);
			if (!Number.isInteger(n) || n < 0) {
				throw badRequest("'bigTableThreshold' must be an integer >= 0.");
			}
			state.bigTableThreshold = n;
		}
		if (body.flavor !== undefined) {
			if (body.flavor !== 'standard' && body.flavor !== 'v8') {
				throw badRequest("'flavor' must be 'standard' or 'v8'.");
			}
			state.flavor = body.flavor;
		}
		return ok(options());
	});

	admin('POST', 'latency', 'latency', (ctx) => {
		const ms = Number(parseJsonBody(ctx).ms);
		if (!Number.isFinite(ms) || ms < 0) throw badRequest("'ms' must be a number >= 0.");
		server.setLatency(ms);
		return ok();
	});
	admin('GET', 'faults', 'faults', () => ok(server.getFaults()));
	admin('POST', 'faults', 'setFaults', (ctx) => {
		server.setFaults(parseJsonBody(ctx) as FaultSettings);
		return ok();
	});
	admin('GET', 'counters', 'counters', () => ok({ counters: server.getCounters() }));
	admin('DELETE', 'counters', 'resetCounters', () => {
		server.resetCounters();
		return ok();
	});
	admin('POST', 'tokens/expire', 'expireTokens', () => {
		const expired = state.tokens.size;
		state.tokens.clear();
		return ok({ expired });
	});
}
