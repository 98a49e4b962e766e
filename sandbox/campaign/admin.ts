/** A typed client of the Campaign sandbox's admin API, for tests, benchmarks and demos. */
import type {
	AdminRecord,
	CampaignOptions,
	CountersResponse,
	DumpResponse,
	ExpireTokensResponse,
	FaultSettings,
	GenerateProfilesRequest,
	GenerateProfilesResponse,
	InsertRecordsRequest,
	InsertRecordsResponse,
	LatencyRequest,
	ResetRequest,
	ResourceDefinition,
	SimulateDeliveryRequest,
	SimulateDeliveryResponse,
	WorkflowRunSummary,
} from './types';

export class CampaignSandboxAdminError extends Error {
	constructor(
		readonly status: number,
		readonly body: unknown,
		path: string,
	) {
		super(`Campaign sandbox admin ${path} answered ${status}: ${JSON.stringify(body)}`);
	}
}

export class CampaignSandboxAdmin {
	/** `baseUrl` is the sandbox's base URL (`CampaignSandbox.url`). */
	constructor(private readonly baseUrl: string) {}

	private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${this.baseUrl}/_sandbox/${path}`, {
			method,
			headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		const parsed = text ? JSON.parse(text) : undefined;
		if (!response.ok) throw new CampaignSandboxAdminError(response.status, parsed, path);
		return parsed as T;
	}

	reset(request: ResetRequest = {}): Promise<void> {
		return this.call('POST', 'reset', request);
	}

	async resources(): Promise<ResourceDefinition[]> {
		return (await this.call<{ resources: ResourceDefinition[] }>('GET', 'resources')).resources;
	}

	/** Adds or replaces a resource (fields, unique fields, filters). */
	defineResource(definition: ResourceDefinition): Promise<void> {
		return this.call('POST', 'resources', definition);
	}

	generateProfiles(request: GenerateProfilesRequest): Promise<GenerateProfilesResponse> {
		return this.call('POST', 'profiles/generate', request);
	}

	async insert(
		resource: string,
		records: InsertRecordsRequest['records'],
		options: { bypassUnique?: boolean } = {},
	): Promise<AdminRecord[]> {
		const body: InsertRecordsRequest = { records, ...options };
		return (await this.call<InsertRecordsResponse>('POST', `records/${resource}`, body)).records;
	}

	dump(resource: string): Promise<DumpResponse> {
		return this.call('GET', `records/${resource}`);
	}

	read(resource: string, pkey: string): Promise<AdminRecord> {
		return this.call('GET', `records/${resource}/${encodeURIComponent(pkey)}`);
	}

	/** Changes a record as a Campaign user would (moves `lastModified`). */
	edit(resource: string, pkey: string, values: Record<string, unknown>): Promise<AdminRecord> {
		return this.call('PATCH', `records/${resource}/${encodeURIComponent(pkey)}`, values);
	}

	remove(resource: string, pkey: string): Promise<void> {
		return this.call('DELETE', `records/${resource}/${encodeURIComponent(pkey)}`);
	}

	simulateDelivery(request: SimulateDeliveryRequest = {}): Promise<SimulateDeliveryResponse> {
		return this.call('POST', 'deliveries', request);
	}

	/** Runs the email events workflow once (its incremental queries, then Update data). */
	runEmailEventsWorkflow(options: { batchSize?: number } = {}): Promise<WorkflowRunSummary> {
		return this.call('POST', 'workflows/emailEvents/run', options);
	}

	options(): Promise<CampaignOptions> {
		return this.call('GET', 'options');
	}

	/** Sets the big-table threshold or the flavor (`v8`); a reset restores the defaults. */
	setOptions(options: Partial<CampaignOptions>): Promise<CampaignOptions> {
		return this.call('PUT', 'options', options);
	}

	/** Delays every API request (token endpoint included) by `ms`; a reset restores 0. */
	setLatency(ms: number): Promise<void> {
		return this.call('PUT', 'latency', { ms } satisfies LatencyRequest);
	}

	async getLatency(): Promise<number> {
		return (await this.call<LatencyRequest>('GET', 'latency')).ms;
	}

	setFaults(settings: FaultSettings): Promise<void> {
		return this.call('PUT', 'faults', settings);
	}

	getFaults(): Promise<FaultSettings> {
		return this.call('GET', 'faults');
	}

	async counters(): Promise<Record<string, number>> {
		return (await this.call<CountersResponse>('GET', 'counters')).counters;
	}

	resetCounters(): Promise<void> {
		return this.call('DELETE', 'counters');
	}

	/** Invalidates every issued access token (the next API call gets 401). */
	expireTokens(): Promise<ExpireTokensResponse> {
		return this.call('POST', 'tokens/expire');
	}
}
