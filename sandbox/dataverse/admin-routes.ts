/**
 * The Dataverse sandbox's admin API under `/_sandbox/` (no auth, loopback clients only); its
 * request and answer types and typed client are in admin.ts. Errors answer in Dataverse's error
 * JSON (`{ error: { code, message } }`).
 */
import {
	parseJsonBody,
	SandboxHttpError,
	seededRandom,
	type FaultSettings,
	type Reply,
	type RequestContext,
	type SandboxServer,
} from '../common/server';
import type {
	AdminRecord,
	DataverseBehavior,
	DumpResponse,
	ServiceProtectionLimits,
} from './admin';
import { errorReply, type DataverseApi } from './api';
import type { ClientCredentials, TokenAuthority } from './auth';
import { generateContacts } from './demo';
import { convertValue, isGuid } from './records';
import { isLookup, isProperty, tableDefinitionOf, type TableDefinition } from './schema';
import {
	StoreError,
	type DateTimePrecision,
	type LookupValue,
	type Row,
	type Store,
	type TableState,
} from './store';

const DATE_TIME_PRECISIONS: DateTimePrecision[] = ['seconds', 'milliseconds', 'hiddenMilliseconds'];

/** What the admin routes act on, besides the server itself. */
export interface DataverseAdminContext {
	api: DataverseApi;
	authority: TokenAuthority;
	/** The service protection limits in force, and a way to forget the requests counted so far. */
	protection: { limits: ServiceProtectionLimits; reset(): void };
	tenantId: string;
	clients: ClientCredentials[];
	/** The base URL (known once the server listens). */
	url(): string;
	/** Seed and contact count of the demo data a reset without a body brings back. */
	seed: number;
	demoRecords: number;
	freshStore(contacts: number, seed: number): Store;
	/** Owner of generated contacts. */
	ownerId: string;
	/** Writes the state to the persist file; absent when there is none. */
	save?: () => void;
}

/** An admin route's error in Dataverse's shape; an unexpected one is the caller's bad request. */
export function dataverseAdminError(error: unknown): Reply {
	if (error instanceof StoreError || error instanceof SandboxHttpError) {
		return errorReply(error.status, error.code, error.message);
	}
	return errorReply(400, 'BadRequest', String((error as Error).message));
}

/** A record from the admin API (logical form) to stored values. */
function adminValues(store: Store, state: TableState, input: AdminRecord): Row {
	const table = state.table;
	const values: Row = {};
	for (const [name, value] of Object.entries(input)) {
		const column = table.columnsByName.get(name);
		if (!column || !isProperty(column)) {
			throw new StoreError(
				400,
				'BadRequest',
				column
					? `Column '${name}' of '${table.logicalName}' is not a property of its rows (a helper, virtual or unreadable column).`
					: `Table '${table.logicalName}' has no column '${name}'.`,
			);
		}
		if (name === 'versionnumber') continue;
		if (isLookup(column)) {
			if (value === null) {
				values[name] = null;
				continue;
			}
			const lookup: LookupValue =
				typeof value === 'string'
					? { id: value.toLowerCase(), table: column.targets![0] }
					: {
							id: String((value as LookupValue).id).toLowerCase(),
							table: String((value as LookupValue).table),
						};
			if (!isGuid(lookup.id) || !column.targets!.includes(lookup.table)) {
				throw new StoreError(
					400,
					'BadRequest',
					`Column '${name}' of '${table.logicalName}' needs an id of one of: ${column.targets!.join(', ')}.`,
				);
			}
			if (!store.table(lookup.table)?.rows.has(lookup.id)) {
				throw new StoreError(
					404,
					'0x80040217',
					`Entity '${lookup.table}' With Id = ${lookup.id} Does Not Exist`,
				);
			}
			values[name] = lookup;
			continue;
		}
		if ((name === 'createdon' || name === 'modifiedon') && typeof value === 'string') {
			values[name] = new Date(value).toISOString().replace('.000Z', 'Z');
			continue;
		}
		if (column.readOnly) continue;
		values[name] = convertValue(table, column, value);
	}
	return values;
}

function adminRecord(row: Row): AdminRecord {
	return { ...row };
}

/** Generic values for tables without a dedicated generator. */
function genericRecord(state: TableState, i: number, random: () => number): Row {
	const row: Row = {};
	for (const column of state.table.properties) {
		switch (column.type) {
			case 'String':
				row[column.logicalName] = `${column.displayName ?? column.logicalName} ${i + 1}`.slice(
					0,
					column.maxLength ?? 100,
				);
				break;
			case 'Integer':
				row[column.logicalName] = Math.floor(random() * 10000);
				break;
			case 'Money':
			case 'Decimal':
			case 'Double':
				row[column.logicalName] = Math.round(random() * 1e6) / 100;
				break;
			case 'Boolean':
				row[column.logicalName] = random() < 0.5;
				break;
			case 'Picklist':
				row[column.logicalName] =
					column.options![Math.floor(random() * column.options!.length)].value;
				break;
			case 'DateTime':
				row[column.logicalName] =
					column.format === 'DateOnly'
						? '2024-06-01'
						: new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 3e10))
								.toISOString()
								.replace(/\.\d+Z$/, 'Z');
				break;
		}
	}
	delete row.createdon;
	delete row.modifiedon;
	return row;
}

export function registerDataverseAdmin(
	server: SandboxServer,
	service: DataverseAdminContext,
): void {
	const { api, protection, tenantId, clients, seed, demoRecords } = service;
	const admin = server.admin.bind(server);
	const tableOf = (ctx: RequestContext): TableState => {
		const state = api.store.table(ctx.params.table) ?? api.store.bySetName(ctx.params.table);
		if (!state)
			throw new StoreError(404, 'NotFound', `No table '${ctx.params.table}' in the sandbox.`);
		return state;
	};
	const T = '(?<table>[a-z0-9_]+)';

	admin('GET', 'info', () => ({
		url: service.url(),
		tenantId,
		tokenUrl: `${service.url()}/${tenantId}/oauth2/v2.0/token`,
		scope: `${service.url()}/.default`,
		clientIds: clients.map((c) => c.clientId),
	}));
	admin('POST', 'reset', (ctx) => {
		const body = parseJsonBody(ctx);
		const count = typeof body.demoRecords === 'number' ? body.demoRecords : demoRecords;
		api.setStore(service.freshStore(count, typeof body.seed === 'number' ? body.seed : seed));
		protection.reset();
		server.resetCounters();
		server.setFaults({});
		server.setLatency(0);
		protection.limits = {};
		api.behavior = {};
	});
	admin('GET', 'tables', () => ({
		tables: [...api.store.tables.values()].map((s) => tableDefinitionOf(s.table)),
	}));
	admin('POST', 'tables', (ctx) => {
		const body = parseJsonBody(ctx);
		const tables = body.tables as TableDefinition[] | undefined;
		if (!Array.isArray(tables))
			throw new StoreError(
				400,
				'BadRequest',
				"The body needs 'tables': an array of table definitions.",
			);
		for (const def of tables) api.store.defineTable(def);
		api.engine.clear();
		return {
			tables: tables.map((def) => tableDefinitionOf(api.store.table(def.logicalName)!.table)),
		};
	});
	admin('DELETE', `tables/${T}`, (ctx) => {
		api.store.dropTable(tableOf(ctx).table.logicalName);
		api.engine.clear();
	});
	admin('GET', `tables/${T}/records`, (ctx): DumpResponse => {
		const state = tableOf(ctx);
		return {
			table: state.table.logicalName,
			count: state.rows.size,
			version: api.store.version,
			records: [...state.rows.values()].map(adminRecord),
		};
	});
	admin('POST', `tables/${T}/records`, (ctx) => {
		const state = tableOf(ctx);
		const records = parseJsonBody(ctx).records;
		if (!Array.isArray(records))
			throw new StoreError(400, 'BadRequest', "The body needs 'records': an array.");
		const ids = api.store.transaction(() =>
			records.map((record: AdminRecord) => {
				const row = api.store.insert(state, adminValues(api.store, state, record));
				return row[state.table.primaryIdAttribute] as string;
			}),
		);
		return { ids };
	});
	admin('POST', `tables/${T}/generate`, (ctx) => {
		const state = tableOf(ctx);
		const body = parseJsonBody(ctx);
		const count = Number(body.count);
		if (!Number.isInteger(count) || count < 0)
			throw new StoreError(400, 'BadRequest', "'count' must be a non-negative integer.");
		const genSeed = typeof body.seed === 'number' ? body.seed : Date.now() % 100000;
		if (state.table.logicalName === 'contact') {
			return { ids: generateContacts(api.store, count, genSeed, service.ownerId) };
		}
		const random = seededRandom(genSeed);
		const ids: string[] = [];
		for (let i = 0; i < count; i++) {
			const row = api.store.insert(state, genericRecord(state, state.rows.size + i, random));
			ids.push(row[state.table.primaryIdAttribute] as string);
		}
		return { ids };
	});
	admin('PATCH', `tables/${T}/records/(?<id>[0-9a-fA-F-]{36})`, (ctx) => {
		const state = tableOf(ctx);
		const changes = adminValues(api.store, state, parseJsonBody(ctx));
		return adminRecord(api.store.update(state, ctx.params.id.toLowerCase(), changes));
	});
	admin('DELETE', `tables/${T}/records/(?<id>[0-9a-fA-F-]{36})`, (ctx) => {
		api.store.remove(tableOf(ctx), ctx.params.id.toLowerCase());
	});
	admin('PUT', `tables/${T}/reported-count`, (ctx) => {
		const count = parseJsonBody(ctx).count;
		if (count !== null && (typeof count !== 'number' || !Number.isInteger(count) || count < 0)) {
			throw new StoreError(400, 'BadRequest', "'count' must be a non-negative integer or null.");
		}
		tableOf(ctx).reportedCount = count as number | null;
	});
	admin('POST', `tables/${T}/expire-change-tracking`, (ctx) => {
		api.store.expireChangeTracking(tableOf(ctx));
		api.engine.clear();
	});
	admin('POST', 'tokens/expire', () => service.authority.expireAll());
	admin('GET', 'latency', () => ({ ms: server.getLatency() }));
	admin('PUT', 'latency', (ctx) => {
		const ms = Number(parseJsonBody(ctx).ms);
		if (!Number.isFinite(ms) || ms < 0)
			throw new StoreError(400, 'BadRequest', "'ms' must be a non-negative number.");
		server.setLatency(ms);
	});
	admin('GET', 'faults', () => server.getFaults());
	admin('PUT', 'faults', (ctx) => server.setFaults(parseJsonBody(ctx) as FaultSettings));
	admin('GET', 'limits', () => protection.limits);
	admin('PUT', 'limits', (ctx) => {
		protection.limits = parseJsonBody(ctx) as ServiceProtectionLimits;
		protection.reset();
	});
	admin('GET', 'behavior', () => api.behavior);
	admin('PUT', 'behavior', (ctx) => {
		const behavior = parseJsonBody(ctx) as DataverseBehavior;
		const precision = behavior.dateTimePrecision;
		if (precision !== undefined && !DATE_TIME_PRECISIONS.includes(precision)) {
			throw new StoreError(
				400,
				'BadRequest',
				`'dateTimePrecision' must be one of ${DATE_TIME_PRECISIONS.join(', ')}.`,
			);
		}
		api.behavior = behavior;
		api.engine.clear();
	});
	admin('GET', 'counters', () => ({ counters: server.getCounters() }));
	admin('DELETE', 'counters', () => server.resetCounters());
	admin('POST', 'save', () => {
		if (!service.save)
			throw new StoreError(400, 'BadRequest', 'The sandbox was started without a persist file.');
		service.save();
	});
}
