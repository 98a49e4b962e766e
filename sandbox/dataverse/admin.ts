/**
 * The Dataverse sandbox's admin API (`/_sandbox/...`, no auth, loopback only): its request and
 * response types, and a small typed client for tests, benchmarks and tools.
 */
import type { FaultSettings } from '../common/server';
import type { TableDefinition } from './schema';
import type { DateTimePrecision } from './store';

/** A record in logical form: column logical names; lookups as `{ id, table }` (or a bare id). */
export type AdminRecord = Record<string, unknown>;

export interface ResetRequest {
	/** Seed of the demo data (default: the sandbox's seed). */
	seed?: number;
	/** Contacts to generate (default: the sandbox's demoRecords; 0 leaves the tables empty). */
	demoRecords?: number;
}

export interface DefineTablesRequest {
	tables: TableDefinition[];
}

export interface TablesResponse {
	tables: TableDefinition[];
}

export interface SeedRecordsRequest {
	records: AdminRecord[];
}

export interface IdsResponse {
	ids: string[];
}

export interface GenerateRequest {
	count: number;
	seed?: number;
}

export interface DumpResponse {
	table: string;
	count: number;
	/** Current row version counter; delta links issued now continue from here. */
	version: number;
	records: AdminRecord[];
}

export interface ReportedCountRequest {
	/** What RetrieveTotalRecordCount reports; null reports the real count again. */
	count: number | null;
}

export interface LatencyRequest {
	ms: number;
}

/** Service protection limits (per client, sliding window), as Dataverse enforces them. */
export interface ServiceProtectionLimits {
	/** Requests per window (Dataverse: 6000). */
	maxRequests?: number;
	/** Window length in seconds (Dataverse: 300). */
	windowSeconds?: number;
	/** Concurrent requests (Dataverse: 52). */
	maxConcurrent?: number;
	/** Combined execution time per window in ms (Dataverse: 1,200,000). */
	maxExecutionMs?: number;
	/** Every Web API request takes at least this long, so concurrency can build up. */
	requestDurationMs?: number;
	/** Fixed Retry-After seconds; by default the time until the window frees a slot. */
	retryAfterSeconds?: number;
}

/**
 * Behaviours of Dataverse that a test can switch on (all off by default; a reset clears them).
 * Each is either documented by Microsoft or reported on its documentation's issue tracker; see
 * sandbox/README.md for the sources.
 */
export interface DataverseBehavior {
	/** How date-times are kept and answered (default `seconds`). */
	dateTimePrecision?: DateTimePrecision;
	/**
	 * The last page of a change-tracking read carries no `@odata.deltaLink` when annotations are
	 * requested (MicrosoftDocs/powerapps-docs issue #439).
	 */
	deltaLinkMissingWithAnnotations?: boolean;
	/**
	 * A delta link read with no changes answers 200 with an empty body ("An empty JSON response is
	 * returned if no table changes have occurred", use-change-tracking-synchronize-data-external-systems.md).
	 */
	emptyBodyWithoutChanges?: boolean;
	/** HTTP status of the expired change-tracking token answer (default 400; undocumented). */
	expiredTokenStatus?: number;
	/**
	 * The next N upserts by alternate key that would create a row lose a race: a concurrent request
	 * (such as the first attempt of a replayed batch) creates the row first, and this one gets the
	 * duplicate-key error.
	 */
	concurrentKeyCreates?: number;
	/** The next N `$batch` requests run, then their connection drops without an answer. */
	lostBatchAnswers?: number;
	/**
	 * How long the index of an alternate key created through the Web API takes to build
	 * (default 1000 ms): `EntityKeyIndexStatus` is Pending for the first half, then InProgress,
	 * then Active (define-alternate-keys-entity.md documents the statuses, not the time).
	 */
	keyIndexDelayMs?: number;
}

export interface CountersResponse {
	counters: Record<string, number>;
}

export interface SandboxInfo {
	url: string;
	tenantId: string;
	tokenUrl: string;
	scope: string;
	clientIds: string[];
}

export class DataverseSandboxAdminError extends Error {
	constructor(
		readonly status: number,
		message: string,
	) {
		super(message);
	}
}

export class DataverseSandboxAdmin {
	constructor(private readonly baseUrl: string) {}

	private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${this.baseUrl.replace(/\/$/, '')}/_sandbox/${path}`, {
			method,
			headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		const parsed = text ? JSON.parse(text) : undefined;
		if (!response.ok) {
			throw new DataverseSandboxAdminError(
				response.status,
				`Sandbox admin ${method} ${path} failed (${response.status}): ${parsed?.error?.message ?? text}`,
			);
		}
		return parsed as T;
	}

	info(): Promise<SandboxInfo> {
		return this.call('GET', 'info');
	}

	reset(request: ResetRequest = {}): Promise<void> {
		return this.call('POST', 'reset', request);
	}

	tables(): Promise<TablesResponse> {
		return this.call('GET', 'tables');
	}

	defineTables(tables: TableDefinition[]): Promise<TablesResponse> {
		return this.call('POST', 'tables', { tables } satisfies DefineTablesRequest);
	}

	/** Inserts records as they are (ids, createdon and modifiedon may be given). */
	async seed(table: string, records: AdminRecord[]): Promise<string[]> {
		const result = await this.call<IdsResponse>('POST', `tables/${table}/records`, {
			records,
		} satisfies SeedRecordsRequest);
		return result.ids;
	}

	/** Generates realistic records (contacts; other tables get generic values). */
	async generate(table: string, count: number, seed?: number): Promise<string[]> {
		const result = await this.call<IdsResponse>('POST', `tables/${table}/generate`, {
			count,
			seed,
		} satisfies GenerateRequest);
		return result.ids;
	}

	/** Changes a record as a user would: modifiedon and the row version move. */
	editRecord(table: string, id: string, changes: AdminRecord): Promise<AdminRecord> {
		return this.call('PATCH', `tables/${table}/records/${id}`, changes);
	}

	deleteRecord(table: string, id: string): Promise<void> {
		return this.call('DELETE', `tables/${table}/records/${id}`);
	}

	/** Removes a table and its rows, as if it had never been created. */
	dropTable(table: string): Promise<void> {
		return this.call('DELETE', `tables/${encodeURIComponent(table)}`);
	}

	dump(table: string): Promise<DumpResponse> {
		return this.call('GET', `tables/${table}/records`);
	}

	setReportedCount(table: string, count: number | null): Promise<void> {
		return this.call('PUT', `tables/${table}/reported-count`, {
			count,
		} satisfies ReportedCountRequest);
	}

	/** Every delta link issued so far for the table fails as an expired version stamp. */
	expireChangeTracking(table: string): Promise<void> {
		return this.call('POST', `tables/${table}/expire-change-tracking`);
	}

	/** Every access token issued so far is rejected with 401. */
	expireTokens(): Promise<void> {
		return this.call('POST', 'tokens/expire');
	}

	/** Delays every API request (token endpoint included) by `ms`; a reset restores 0. */
	setLatency(ms: number): Promise<void> {
		return this.call('PUT', 'latency', { ms } satisfies LatencyRequest);
	}

	async getLatency(): Promise<number> {
		return (await this.call<LatencyRequest>('GET', 'latency')).ms;
	}

	setFaults(faults: FaultSettings): Promise<void> {
		return this.call('PUT', 'faults', faults);
	}

	getFaults(): Promise<FaultSettings> {
		return this.call('GET', 'faults');
	}

	setLimits(limits: ServiceProtectionLimits): Promise<void> {
		return this.call('PUT', 'limits', limits);
	}

	getLimits(): Promise<ServiceProtectionLimits> {
		return this.call('GET', 'limits');
	}

	setBehavior(behavior: DataverseBehavior): Promise<void> {
		return this.call('PUT', 'behavior', behavior);
	}

	getBehavior(): Promise<DataverseBehavior> {
		return this.call('GET', 'behavior');
	}

	async counters(): Promise<Record<string, number>> {
		return (await this.call<CountersResponse>('GET', 'counters')).counters;
	}

	resetCounters(): Promise<void> {
		return this.call('DELETE', 'counters');
	}

	/** Writes the state to the sandbox's persist file now. */
	save(): Promise<void> {
		return this.call('POST', 'save');
	}
}
