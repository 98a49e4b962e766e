/**
 * Runs workflows in-process with n8n-core's own execution engine (`WorkflowExecute`, `PollContext`,
 * `LoadOptionsContext`), our node and credential classes, and a credentials helper that runs the
 * credentials' real `preAuthentication` and `authenticate` against whatever host they point at (the
 * sandbox in tests). Nothing of n8n is mocked: only the parts of the n8n server that the engine
 * asks for (the credential store, lifecycle hooks) are provided here, in memory.
 */
import {
	ExecutionLifecycleHooks,
	LoadOptionsContext,
	PollContext,
	WorkflowExecute,
} from 'n8n-core';
import {
	ICredentialsHelper,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type ICredentials,
	type IDataObject,
	type IHttpRequestHelper,
	type IHttpRequestOptions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeListSearchResult,
	type INodePropertyOptions,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IRunExecutionData,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
	type IConnections,
	type INodeParameters,
	type WorkflowActivateMode,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

export const PACKAGE_NAME = 'n8n-nodes-dynamics-campaign';

/** A minimal stand-in for n8n's Manual/Schedule triggers: emits one empty item. */
class StartNode implements INodeType {
	description = {
		displayName: 'Start',
		name: 'start',
		group: ['trigger'],
		version: [1, 1.1, 1.2, 1.3],
		description: 'Starts the workflow in tests',
		defaults: { name: 'Start' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	} as unknown as INodeType['description'];

	async execute(): Promise<INodeExecutionData[][]> {
		return [[{ json: {} }]];
	}
}

/**
 * n8n's Sticky Note as the engine sees it: connected to nothing, so it never runs; its parameters
 * are the note's text and size.
 */
class StickyNote implements INodeType {
	description = {
		displayName: 'Sticky Note',
		name: 'stickyNote',
		group: ['input'],
		version: 1,
		description: 'A note on the canvas',
		defaults: { name: 'Sticky Note' },
		inputs: [],
		outputs: [],
		properties: [
			{ displayName: 'Content', name: 'content', type: 'string', default: '' },
			{ displayName: 'Height', name: 'height', type: 'number', default: 160 },
			{ displayName: 'Width', name: 'width', type: 'number', default: 240 },
			{ displayName: 'Color', name: 'color', type: 'number', default: 1 },
		],
	} as unknown as INodeType['description'];
}

/** Built-in trigger types our templates start with; in-process they are a plain start node. */
const BUILT_IN_STARTS = [
	'n8n-nodes-base.manualTrigger',
	'n8n-nodes-base.scheduleTrigger',
	'n8n-nodes-base.start',
];

export class TestNodeTypes implements INodeTypes {
	private readonly types = new Map<string, INodeType>();

	constructor(nodes: Record<string, INodeType>) {
		for (const [name, node] of Object.entries(nodes)) {
			this.types.set(name.includes('.') ? name : `${PACKAGE_NAME}.${name}`, node);
		}
		for (const type of BUILT_IN_STARTS) this.types.set(type, new StartNode());
		this.types.set('n8n-nodes-base.stickyNote', new StickyNote());
	}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		return this.get(nodeType);
	}

	getByNameAndVersion(nodeType: string): INodeType {
		return this.get(nodeType);
	}

	getKnownTypes(): IDataObject {
		return Object.fromEntries([...this.types.keys()].map((k) => [k, {}]));
	}

	private get(nodeType: string): INodeType {
		const type = this.types.get(nodeType);
		if (!type) throw new Error(`Unknown node type in test workflow: ${nodeType}`);
		return type;
	}
}

/** Resolves `={{$credentials.x}}`-style values of generic `authenticate` definitions. */
function resolveCredentialExpression(value: unknown, credentials: ICredentialDataDecryptedObject) {
	if (typeof value !== 'string' || !value.startsWith('=')) return value;
	return value
		.slice(1)
		.replace(/\{\{\s*\$credentials\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, key: string) =>
			String(credentials[key] ?? ''),
		);
}

/** Holds credentials in memory and applies our credential types as n8n's server does. */
export class TestCredentialsHelper extends ICredentialsHelper {
	private readonly store = new Map<string, ICredentialDataDecryptedObject>();
	private readonly types = new Map<string, ICredentialType>();
	/** How often each credential type's preAuthentication ran (token requests). */
	readonly preAuthenticationRuns = new Map<string, number>();
	/**
	 * How often each credential type was read (decrypted): in n8n every read loads the credential
	 * from its database and decrypts it.
	 */
	readonly reads = new Map<string, number>();

	constructor(credentialTypes: ICredentialType[]) {
		super();
		for (const type of credentialTypes) this.types.set(type.name, type);
	}

	/** Stores a credential's data, with defaults for fields not given (as n8n's editor saves them). */
	setCredentials(typeName: string, data: ICredentialDataDecryptedObject): void {
		const type = this.type(typeName);
		const defaults: ICredentialDataDecryptedObject = {};
		for (const property of type.properties) {
			defaults[property.name] = property.default as ICredentialDataDecryptedObject[string];
		}
		this.store.set(typeName, { ...defaults, ...data });
	}

	getStored(typeName: string): ICredentialDataDecryptedObject | undefined {
		return this.store.get(typeName);
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const { authenticate } = this.type(typeName);
		if (!authenticate) return requestOptions;
		if (typeof authenticate === 'function') return await authenticate(credentials, requestOptions);
		const options = { ...requestOptions };
		for (const [target, values] of Object.entries(authenticate.properties)) {
			const resolved = Object.fromEntries(
				Object.entries(values as Record<string, unknown>).map(([k, v]) => [
					k,
					resolveCredentialExpression(v, credentials),
				]),
			);
			const key = target as 'headers' | 'qs' | 'body';
			options[key] = { ...((options[key] as IDataObject) ?? {}), ...resolved } as IDataObject;
		}
		return options;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		_node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.type(typeName);
		const expirable = type.properties.find(
			(p) => p.type === 'hidden' && p.typeOptions?.expirable === true,
		);
		if (!expirable || typeof type.preAuthentication !== 'function') return undefined;
		if (credentials[expirable.name] !== '' && !credentialsExpired) return undefined;
		const output = await type.preAuthentication.call(helpers, credentials);
		this.preAuthenticationRuns.set(typeName, (this.preAuthenticationRuns.get(typeName) ?? 0) + 1);
		if (output[expirable.name] === undefined) return undefined;
		const stored = {
			...(this.store.get(typeName) ?? {}),
			...output,
		} as ICredentialDataDecryptedObject;
		this.store.set(typeName, stored);
		return Object.assign(credentials, output) as ICredentialDataDecryptedObject;
	}

	async runPreAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.type(typeName);
		if (typeof type.preAuthentication !== 'function') return undefined;
		return (await type.preAuthentication.call(
			helpers,
			credentials,
		)) as ICredentialDataDecryptedObject;
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('getCredentials is not used by these nodes');
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const data = this.store.get(type);
		if (!data) throw new Error(`No test credentials of type ${type}`);
		this.reads.set(type, (this.reads.get(type) ?? 0) + 1);
		// A copy, as n8n decrypts a fresh object for every use.
		return { ...data };
	}

	async updateCredentials(
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.store.set(type, { ...data });
	}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getCredentialsProperties(type: string) {
		return this.type(type).properties;
	}

	private type(name: string): ICredentialType {
		const type = this.types.get(name);
		if (!type) throw new Error(`Unknown credential type in test: ${name}`);
		return type;
	}
}

export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IDataObject;
	staticData?: IDataObject | null;
}

export interface NodeRunResult {
	/** Items per output index (0 = main/success, 1 = error output when enabled). */
	outputs: INodeExecutionData[][];
	error?: Error;
}

export interface ExecutionResult {
	run: IRun;
	status: IRun['status'];
	/** The last run of each node that ran. */
	nodes: Record<string, NodeRunResult>;
	/** Items of output `index` of node `name` (empty when it did not run). */
	output(name: string, index?: number): IDataObject[];
	/** The execution's error, if it failed. */
	error?: Error;
}

/**
 * One workflow kept alive across runs, as an active workflow in n8n is: its static data (the
 * trigger's cursor) lives on the Workflow object between polls.
 */
export class TestWorkflow {
	readonly workflow: Workflow;
	/** Failures a poll reported without failing (n8n saves each as a failed execution). */
	readonly triggerErrors: Error[] = [];

	constructor(
		readonly json: WorkflowJson,
		private readonly nodeTypes: TestNodeTypes,
		private readonly credentialsHelper: TestCredentialsHelper,
	) {
		this.workflow = new Workflow({
			id: 'test-workflow',
			name: json.name ?? 'test',
			nodes: json.nodes,
			connections: json.connections,
			nodeTypes,
			active: true,
			settings: { executionOrder: 'v1', ...(json.settings ?? {}) },
			staticData: json.staticData ?? {},
		});
	}

	additionalData(): IWorkflowExecuteAdditionalData {
		const hooks = new ExecutionLifecycleHooks('trigger', 'test-execution', this.json as never);
		const data: Partial<IWorkflowExecuteAdditionalData> = {
			credentialsHelper: this.credentialsHelper,
			hooks,
			executionId: 'test-execution',
			restApiUrl: 'http://127.0.0.1/rest',
			instanceBaseUrl: 'http://127.0.0.1/',
			formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
			webhookBaseUrl: 'http://127.0.0.1/webhook',
			webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
			webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
			currentNodeParameters: undefined,
			variables: {},
			userId: 'test-user',
		};
		return data as IWorkflowExecuteAdditionalData;
	}

	node(name: string): INode {
		const node = this.workflow.getNode(name);
		if (!node) throw new Error(`No node named ${name}`);
		return node;
	}

	/** Changes a node's parameters, as an admin editing the node in the editor does. */
	setParameters(name: string, parameters: INodeParameters): void {
		const node = this.node(name);
		node.parameters = { ...node.parameters, ...parameters };
	}

	/** The node's static data (e.g. the trigger's cursor). */
	staticData(name: string): IDataObject {
		return this.workflow.getStaticData('node', this.node(name));
	}

	/**
	 * Calls a polling trigger's `poll()` as n8n's poller does (mode `trigger`), or as the editor's
	 * "Fetch test event" does (mode `manual`).
	 */
	async poll(
		triggerName: string,
		activation: WorkflowActivateMode = 'activate',
		mode: 'trigger' | 'manual' = 'trigger',
	) {
		const node = this.node(triggerName);
		const type = this.nodeTypes.getByNameAndVersion(node.type);
		if (!type.poll) throw new Error(`${triggerName} is not a polling trigger`);
		const context = new PollContext(
			this.workflow,
			node,
			this.additionalData(),
			mode,
			activation,
			undefined,
			(error: Error) => this.triggerErrors.push(error),
		);
		return await type.poll.call(context);
	}

	/**
	 * A poll and, when it returned items, the execution that n8n would start with them.
	 * Returns null when the poll found nothing (n8n starts no execution then).
	 */
	async pollAndRun(triggerName: string): Promise<ExecutionResult | null> {
		const items = await this.poll(triggerName);
		if (!items) return null;
		return await this.run(triggerName, items, 'trigger');
	}

	/** Runs the workflow from `startName` with the given output of that start node. */
	async run(
		startName: string,
		startOutput: INodeExecutionData[][] = [[{ json: {} }]],
		mode: WorkflowExecuteMode = 'trigger',
	): Promise<ExecutionResult> {
		const additionalData = this.additionalData();
		let finished!: (run: IRun) => void;
		const done = new Promise<IRun>((resolve) => (finished = resolve));
		additionalData.hooks!.addHandler('workflowExecuteAfter', (run) => finished(run));
		const runExecutionData: IRunExecutionData = {
			resultData: { runData: {} },
			executionData: {
				metadata: {},
				contextData: {},
				waitingExecution: {},
				waitingExecutionSource: null,
				nodeExecutionStack: [
					{ node: this.node(startName), data: { main: startOutput }, source: null },
				],
			},
		} as unknown as IRunExecutionData;
		const execute = new WorkflowExecute(additionalData, mode, runExecutionData);
		await execute.processRunExecutionData(this.workflow);
		const run = await done;
		return toResult(run);
	}

	/**
	 * Calls a node's loadOptions method as the editor does when a dropdown opens. `path` is the
	 * parameter's path (e.g. `parameters.rules.rule[0].value`), so `&field` resolves within its row.
	 */
	async loadOptions(
		nodeName: string,
		method: string,
		parameters?: INodeParameters,
		path = `parameters.${method}`,
	): Promise<INodePropertyOptions[]> {
		const { type, context } = this.methodContext(nodeName, parameters, path);
		const fn = type.methods?.loadOptions?.[method];
		if (!fn) throw new Error(`${nodeName} has no loadOptions method ${method}`);
		return await fn.call(context);
	}

	/** Calls a node's listSearch method as the editor does for a resource locator's list. */
	async listSearch(
		nodeName: string,
		method: string,
		filter?: string,
		path = `parameters.${method}`,
		parameters?: INodeParameters,
	): Promise<INodeListSearchResult> {
		const { type, context } = this.methodContext(nodeName, parameters, path);
		const fn = type.methods?.listSearch?.[method];
		if (!fn) throw new Error(`${nodeName} has no listSearch method ${method}`);
		return await fn.call(context, filter);
	}

	private methodContext(nodeName: string, parameters: INodeParameters | undefined, path: string) {
		const node = this.node(nodeName);
		if (parameters) node.parameters = { ...node.parameters, ...parameters };
		const type = this.nodeTypes.getByNameAndVersion(node.type);
		const additionalData = this.additionalData();
		additionalData.currentNodeParameters = node.parameters;
		return { type, context: new LoadOptionsContext(this.workflow, node, additionalData, path) };
	}
}

function toResult(run: IRun): ExecutionResult {
	const nodes: Record<string, NodeRunResult> = {};
	for (const [name, runs] of Object.entries(run.data.resultData.runData)) {
		const last = runs[runs.length - 1];
		nodes[name] = {
			outputs: (last?.data?.main ?? []).map((items) => items ?? []),
			error: last?.error as Error | undefined,
		};
	}
	return {
		run,
		status: run.status,
		nodes,
		error: run.data.resultData.error as Error | undefined,
		output(name: string, index = 0) {
			return (nodes[name]?.outputs[index] ?? []).map((item) => item.json);
		},
	};
}
