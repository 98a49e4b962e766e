/**
 * A small typed client for a running n8n: the public API (`/api/v1`, API key) for workflows,
 * credentials and executions, and the few internal REST calls (`/rest`, login cookie) that have no
 * public equivalent (owner setup, API keys, loaded node types).
 *
 * Errors name the call and carry n8n's own message; the API key and cookie never appear in them.
 */

export interface WorkflowNode {
	id?: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	disabled?: boolean;
	onError?: 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';
	webhookId?: string;
}

export interface WorkflowConnection {
	node: string;
	type: string;
	index: number;
}

export type WorkflowConnections = Record<string, Record<string, WorkflowConnection[][]>>;

export interface WorkflowDefinition {
	name: string;
	nodes: WorkflowNode[];
	connections: WorkflowConnections;
	settings: Record<string, unknown>;
	staticData?: Record<string, unknown> | null;
}

export interface Workflow extends WorkflowDefinition {
	id: string;
	active: boolean;
	versionId?: string;
	activeVersionId?: string | null;
	createdAt: string;
	updatedAt: string;
}

export interface Credential {
	id: string;
	name: string;
	type: string;
	createdAt: string;
	updatedAt: string;
}

export type ExecutionStatus =
	'canceled' | 'crashed' | 'error' | 'new' | 'running' | 'success' | 'unknown' | 'waiting';

/** The part of n8n's run data the tests read: per node name, its runs and their items. */
export interface ExecutionData {
	resultData: {
		runData: Record<
			string,
			Array<{
				data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> };
				error?: { message: string; description?: string };
				executionStatus?: string;
			}>
		>;
		error?: { message: string; description?: string };
		lastNodeExecuted?: string;
	};
}

export interface Execution {
	id: string;
	finished: boolean;
	mode: string;
	status: ExecutionStatus;
	workflowId: string;
	retryOf?: string | null;
	retrySuccessId?: string | null;
	startedAt: string;
	stoppedAt?: string | null;
	data?: ExecutionData;
}

export interface ListExecutionsQuery {
	workflowId?: string;
	status?: 'canceled' | 'error' | 'running' | 'success' | 'waiting';
	includeData?: boolean;
	limit?: number;
	cursor?: string;
}

/** Subset of a node description as `/types/nodes.json` lists it. */
export interface LoadedNodeType {
	name: string;
	displayName: string;
	version: number | number[];
	polling?: boolean;
	credentials?: Array<{ name: string; required?: boolean }>;
}

export interface LoadedCredentialType {
	name: string;
	displayName: string;
	properties: Array<{ name: string; type: string; default?: unknown }>;
}

export class N8nRequestError extends Error {
	constructor(
		readonly call: string,
		readonly status: number,
		readonly body: unknown,
	) {
		super(`n8n ${call} answered ${status}: ${describeBody(body)}`);
		this.name = 'N8nRequestError';
	}
}

function describeBody(body: unknown): string {
	if (body && typeof body === 'object' && 'message' in body) {
		return String((body as { message: unknown }).message);
	}
	const text = typeof body === 'string' ? body : JSON.stringify(body);
	return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

interface RawResponse {
	status: number;
	body: unknown;
	headers: Headers;
}

async function send(
	baseUrl: string,
	method: string,
	path: string,
	headers: Record<string, string>,
	body?: unknown,
): Promise<RawResponse> {
	const response = await fetch(`${baseUrl}${path}`, {
		method,
		headers: {
			accept: 'application/json',
			...(body === undefined ? {} : { 'content-type': 'application/json' }),
			...headers,
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	let parsed: unknown = text;
	if (text && (response.headers.get('content-type') ?? '').includes('json')) {
		try {
			parsed = JSON.parse(text);
		} catch {
			parsed = text;
		}
	}
	return { status: response.status, body: parsed, headers: response.headers };
}

function queryString(query: Record<string, string | number | boolean | undefined>): string {
	const params = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) {
		if (value !== undefined) params.set(key, String(value));
	}
	const text = params.toString();
	return text ? `?${text}` : '';
}

/** The internal REST calls that need no API key: owner setup and login. */
export const n8nRest = {
	/** Creates the instance owner on a fresh n8n; returns the `n8n-auth` cookie. */
	async setupOwner(
		baseUrl: string,
		owner: { email: string; password: string; firstName: string; lastName: string },
	): Promise<string> {
		const response = await send(baseUrl, 'POST', '/rest/owner/setup', {}, owner);
		if (response.status !== 200) {
			throw new N8nRequestError('POST /rest/owner/setup', response.status, response.body);
		}
		return authCookie(response, 'POST /rest/owner/setup');
	},

	/** Logs in; returns the `n8n-auth` cookie. */
	async login(baseUrl: string, email: string, password: string): Promise<string> {
		const response = await send(
			baseUrl,
			'POST',
			'/rest/login',
			{},
			{ emailOrLdapLoginId: email, password },
		);
		if (response.status !== 200) {
			throw new N8nRequestError('POST /rest/login', response.status, response.body);
		}
		return authCookie(response, 'POST /rest/login');
	},

	/**
	 * Whether n8n is ready for API calls. `/healthz` answers 200 as soon as the port is open, while
	 * migrations still run and every other route answers "starting up"; `/healthz/readiness` waits
	 * for the database. n8n 1.x registers its REST routes only after that, so until `GET
	 * /rest/login` exists (it answers 401 without a login) every REST call is a 404.
	 */
	async isReady(baseUrl: string): Promise<boolean> {
		try {
			const readiness = await fetch(`${baseUrl}/healthz/readiness`);
			await readiness.text();
			if (readiness.status !== 200) return false;
			const login = await fetch(`${baseUrl}/rest/login`);
			await login.text();
			return login.status !== 404;
		} catch {
			return false;
		}
	},
};

function authCookie(response: RawResponse, call: string): string {
	const cookie = response.headers
		.getSetCookie()
		.map((header) => header.split(';')[0])
		.find((pair) => pair.startsWith('n8n-auth='));
	if (!cookie) throw new Error(`n8n ${call} succeeded but set no n8n-auth cookie`);
	return cookie;
}

/** Calls made as the logged-in owner (cookie): API keys and the loaded node/credential types. */
export class N8nRestClient {
	constructor(
		readonly baseUrl: string,
		private readonly cookie: string,
	) {}

	private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await send(this.baseUrl, method, path, { cookie: this.cookie }, body);
		if (response.status < 200 || response.status >= 300) {
			throw new N8nRequestError(`${method} ${path}`, response.status, response.body);
		}
		return response.body as T;
	}

	/**
	 * The API key scopes this instance accepts; undefined where API keys have no scopes (older n8n
	 * 1.x, 1.85 among them: a key may do everything its owner may).
	 */
	async apiKeyScopes(): Promise<string[] | undefined> {
		try {
			return (await this.call<{ data: string[] }>('GET', '/rest/api-keys/scopes')).data;
		} catch (error) {
			if (error instanceof N8nRequestError && error.status === 404) return undefined;
			throw error;
		}
	}

	/** Creates a non-expiring API key; returns the raw key (shown only once by n8n). */
	async createApiKey(label: string, scopes: string[] | undefined): Promise<string> {
		const response = await this.call<{ data: { rawApiKey: string } }>('POST', '/rest/api-keys', {
			label,
			...(scopes ? { scopes } : {}),
			expiresAt: null,
		});
		return response.data.rawApiKey;
	}

	/**
	 * Runs the credential type's `test` request for a stored credential, as the editor's "Test"
	 * button does (preAuthentication included); `data` overrides stored fields for this test only.
	 */
	async testCredential(credential: {
		id: string;
		name: string;
		type: string;
		data?: Record<string, unknown>;
	}): Promise<{ status: 'OK' | 'Error'; message: string }> {
		const response = await this.call<{ data: { status: 'OK' | 'Error'; message: string } }>(
			'POST',
			'/rest/credentials/test',
			{ credentials: credential },
		);
		return response.data;
	}

	/** Every node type n8n loaded (built-in and community), as the editor sees them. */
	async nodeTypes(): Promise<LoadedNodeType[]> {
		return this.call<LoadedNodeType[]>('GET', '/types/nodes.json');
	}

	/** Every credential type n8n loaded. */
	async credentialTypes(): Promise<LoadedCredentialType[]> {
		return this.call<LoadedCredentialType[]>('GET', '/types/credentials.json');
	}
}

/**
 * Older n8n 1.x (1.85 among them) leaves `status` out of the executions it lists; it is told
 * from `finished` and `stoppedAt` there (a stopped, unfinished execution failed).
 */
function withStatus(execution: Execution): Execution {
	if (execution.status) return execution;
	const status: ExecutionStatus = execution.finished
		? 'success'
		: execution.stoppedAt
			? 'error'
			: 'running';
	return { ...execution, status };
}

/** n8n's public API, authenticated with an API key. */
export class N8nApi {
	/** n8n 2.x publishes and unpublishes; 1.x knows the same calls as activate and deactivate. */
	private readonly publication: { on: string; off: string };

	constructor(
		readonly baseUrl: string,
		private readonly apiKey: string,
		/** The n8n release answering; 2.x when omitted. */
		n8nVersion = '2',
	) {
		this.publication =
			Number(n8nVersion.split('.')[0]) < 2
				? { on: 'activate', off: 'deactivate' }
				: { on: 'publish', off: 'unpublish' };
	}

	private async call<T>(
		method: string,
		path: string,
		body?: unknown,
		query: Record<string, string | number | boolean | undefined> = {},
	): Promise<T> {
		const response = await send(
			this.baseUrl,
			method,
			`/api/v1${path}${queryString(query)}`,
			{ 'x-n8n-api-key': this.apiKey },
			body,
		);
		if (response.status < 200 || response.status >= 300) {
			throw new N8nRequestError(`${method} /api/v1${path}`, response.status, response.body);
		}
		return response.body as T;
	}

	/**
	 * Creates a credential. n8n adds an "Allowed HTTP Request Domains" field to every credential
	 * type; n8n 1.x's schema for it demands `allowedDomains` unless `allowedHttpRequestDomains` is
	 * sent (its `if` also holds when the field is absent), so the editor's default, `all`, is sent
	 * explicitly where the schema has the field.
	 */
	async createCredential(credential: {
		name: string;
		type: string;
		data: Record<string, unknown>;
	}): Promise<Credential> {
		let data = credential.data;
		if (data.allowedHttpRequestDomains === undefined) {
			const schema = await this.credentialSchema(credential.type);
			if (schema.properties.allowedHttpRequestDomains) {
				data = { ...data, allowedHttpRequestDomains: 'all' };
			}
		}
		return this.call('POST', '/credentials', { ...credential, data });
	}

	/** JSON schema of a credential type's fields; fails with 404 when the type is not loaded. */
	credentialSchema(type: string): Promise<{
		type: 'object';
		properties: Record<string, { type: string }>;
		required?: string[];
	}> {
		return this.call('GET', `/credentials/schema/${encodeURIComponent(type)}`);
	}

	deleteCredential(id: string): Promise<Credential> {
		return this.call('DELETE', `/credentials/${encodeURIComponent(id)}`);
	}

	createWorkflow(workflow: WorkflowDefinition): Promise<Workflow> {
		return this.call('POST', '/workflows', workflow);
	}

	getWorkflow(id: string): Promise<Workflow> {
		return this.call('GET', `/workflows/${encodeURIComponent(id)}`);
	}

	updateWorkflow(id: string, workflow: WorkflowDefinition): Promise<Workflow> {
		return this.call('PUT', `/workflows/${encodeURIComponent(id)}`, workflow);
	}

	deleteWorkflow(id: string): Promise<Workflow> {
		return this.call('DELETE', `/workflows/${encodeURIComponent(id)}`);
	}

	/** Publishes (activates) the workflow: its trigger starts firing. */
	publishWorkflow(id: string, versionId?: string): Promise<Workflow> {
		return this.call(
			'POST',
			`/workflows/${encodeURIComponent(id)}/${this.publication.on}`,
			versionId ? { versionId } : {},
		);
	}

	/** Unpublishes (deactivates) the workflow: its trigger stops. */
	unpublishWorkflow(id: string): Promise<Workflow> {
		return this.call('POST', `/workflows/${encodeURIComponent(id)}/${this.publication.off}`);
	}

	async listExecutions(query: ListExecutionsQuery = {}): Promise<Execution[]> {
		const response = await this.call<{ data: Execution[]; nextCursor?: string | null }>(
			'GET',
			'/executions',
			undefined,
			{ ...query },
		);
		return response.data.map(withStatus);
	}

	async getExecution(id: string, includeData = true): Promise<Execution> {
		return withStatus(
			await this.call('GET', `/executions/${encodeURIComponent(id)}`, undefined, { includeData }),
		);
	}

	/** Retries a failed execution; `loadWorkflow` runs the current workflow instead of the saved one. */
	retryExecution(id: string, loadWorkflow = false): Promise<Execution> {
		return this.call('POST', `/executions/${encodeURIComponent(id)}/retry`, { loadWorkflow });
	}

	/** Polls until `predicate` holds for the workflow's executions, or fails after `timeoutMs`. */
	async waitForExecutions(
		workflowId: string,
		predicate: (executions: Execution[]) => boolean,
		options: { timeoutMs?: number; intervalMs?: number; includeData?: boolean } = {},
	): Promise<Execution[]> {
		const deadline = Date.now() + (options.timeoutMs ?? 90_000);
		let executions: Execution[] = [];
		while (Date.now() < deadline) {
			executions = await this.listExecutions({
				workflowId,
				includeData: options.includeData ?? true,
				limit: 250,
			});
			if (predicate(executions)) return executions;
			await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
		}
		throw new Error(
			`workflow ${workflowId}: executions did not reach the expected state within ` +
				`${options.timeoutMs ?? 90_000} ms (last seen: ${executions
					.map((e) => `${e.id}:${e.status}`)
					.join(', ')})`,
		);
	}
}
