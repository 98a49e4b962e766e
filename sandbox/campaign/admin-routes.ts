/** The Campaign sandbox's admin API under `/_sandbox/` (no auth, loopback clients only). */
import {
	SandboxHttpError,
	parseJsonBody,
	type FaultSettings,
	type SandboxServer,
} from '../common/server';
import { DEFAULT_BIG_TABLE_THRESHOLD, type CampaignServiceState } from './api';
import {
	runEmailEventsWorkflow,
	simulateDelivery,
	type SimulateDeliveryOptions,
} from './deliveries';
import { generateProfiles } from './generate';
import { validateDefinition, type ResourceDefinition } from './schema';
import { badRequest, type StoredRecord, type Table } from './store';
import type { AdminRecord, CampaignOptions } from './types';

function adminRecord(record: StoredRecord): AdminRecord {
	return { PKey: record.pkey, ...record.values };
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
	const admin = server.admin.bind(server);
	const store = state.store;

	admin('POST', 'reset', (ctx) => {
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
	});

	admin('GET', 'resources', () => ({ resources: [...store.tables.values()].map((t) => t.def) }));
	admin('POST', 'resources', (ctx) => {
		const def = parseJsonBody(ctx) as unknown as ResourceDefinition;
		const known = new Set(store.tables.keys());
		const problems = validateDefinition(def, known);
		if (problems.length) throw badRequest(problems.join(' '));
		store.define(def);
		return { resource: def.name };
	});

	admin('POST', 'profiles/generate', (ctx) => {
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
		return { created: created.length, pkeys: created.slice(0, 1000).map((r) => r.pkey) };
	});

	admin('GET', 'records/(?<res>[^/]+)', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		const records = [...table.records.values()].sort((a, b) => a.seq - b.seq).map(adminRecord);
		return { resource: table.def.name, count: records.length, records };
	});
	admin('POST', 'records/(?<res>[^/]+)', (ctx) => {
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
		return { records: created.map(adminRecord) };
	});
	admin('GET', 'records/(?<res>[^/]+)/(?<pkey>[^/]+)', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		return adminRecord(recordOf(table, ctx.params.pkey));
	});
	admin('PATCH', 'records/(?<res>[^/]+)/(?<pkey>[^/]+)', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		const record = recordOf(table, ctx.params.pkey);
		const values = store.coerce(
			table,
			parseJsonBody(ctx),
			`'${table.def.name}' record ${record.pkey}`,
			{ admin: true },
		);
		store.update(table, record, values);
		return adminRecord(record);
	});
	admin('DELETE', 'records/(?<res>[^/]+)/(?<pkey>[^/]+)', (ctx) => {
		const table = tableOf(state, ctx.params.res);
		store.delete(table, recordOf(table, ctx.params.pkey));
	});

	admin('POST', 'deliveries', (ctx) => {
		const body = parseJsonBody(ctx) as SimulateDeliveryOptions;
		try {
			return simulateDelivery(store, body, ++deliveries);
		} catch (error) {
			throw badRequest((error as Error).message);
		}
	});

	admin('POST', 'workflows/emailEvents/run', (ctx) => {
		const body = parseJsonBody(ctx);
		const batchSize = body.batchSize === undefined ? undefined : Number(body.batchSize);
		if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
			throw badRequest("'batchSize' must be an integer >= 1.");
		}
		return runEmailEventsWorkflow(store, { batchSize });
	});

	const options = (): CampaignOptions => ({
		bigTableThreshold: state.bigTableThreshold,
		flavor: state.flavor,
	});
	admin('GET', 'options', options);
	admin('PUT', 'options', (ctx) => {
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
		return options();
	});

	admin('GET', 'latency', () => ({ ms: server.getLatency() }));
	admin('PUT', 'latency', (ctx) => {
		const ms = Number(parseJsonBody(ctx).ms);
		if (!Number.isFinite(ms) || ms < 0) throw badRequest("'ms' must be a number >= 0.");
		server.setLatency(ms);
	});
	admin('GET', 'faults', () => server.getFaults());
	admin('PUT', 'faults', (ctx) => server.setFaults(parseJsonBody(ctx) as FaultSettings));
	admin('GET', 'counters', () => ({ counters: server.getCounters() }));
	admin('DELETE', 'counters', () => server.resetCounters());
	admin('POST', 'tokens/expire', () => {
		const expired = state.tokens.size;
		state.tokens.clear();
		return { expired };
	});
}
