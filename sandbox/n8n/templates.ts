/**
 * The shipped workflow templates as n8n's public API takes them, the demo that `npm start`
 * publishes (the templates plus what only the sandbox has), and what their executions say. Used by
 * `npm start` (import, publish, report) and the end-to-end tests, so both exercise the same files
 * users import.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

import type { Execution, N8nApi, Workflow, WorkflowDefinition, WorkflowNode } from './api';

const TEMPLATES_DIR = path.resolve(__dirname, '..', '..', 'templates');
const DEMO_DIR = path.join(__dirname, 'demo');

export const TEMPLATE_FILES = {
	dynamicsToCampaign: 'dynamics-to-campaign.json',
	campaignToDynamics: 'campaign-to-dynamics.json',
	optInOut: 'opt-in-out.json',
} as const;
export type TemplateName = keyof typeof TEMPLATE_FILES;

/** A workflow as exported from n8n or shipped in templates/ (extra fields allowed). */
export interface WorkflowFile extends Partial<WorkflowDefinition> {
	name: string;
	nodes: WorkflowNode[];
	connections: WorkflowDefinition['connections'];
	[extra: string]: unknown;
}

export type CredentialRefs = Record<string, { id: string; name: string }>;

export function loadTemplate(name: TemplateName): WorkflowFile {
	return JSON.parse(readFileSync(path.join(TEMPLATES_DIR, TEMPLATE_FILES[name]), 'utf8'));
}

const OPT_IN_OUT_TYPE = 'n8n-nodes-dynamics-campaign.optInOutSync';

/** Nodes and connections the demo adds to a template. */
interface DemoAddition {
	nodes: WorkflowNode[];
	connections: WorkflowDefinition['connections'];
}

/**
 * A template as `npm start` publishes it: the sandbox's custom tables get a second chain
 * (new_loyaltycard → cusLoyaltyCard, which no real tenant has), opt-in/out flags move both ways
 * (the template ships Disabled), and successful executions are saved too, so the demo and the
 * tests can report what each execution wrote.
 */
export function loadDemo(name: TemplateName): WorkflowFile {
	const template = loadTemplate(name);
	const addition: DemoAddition =
		name === 'dynamicsToCampaign'
			? JSON.parse(readFileSync(path.join(DEMO_DIR, 'loyalty-cards.json'), 'utf8'))
			: { nodes: [], connections: {} };
	const nodes = [...template.nodes, ...addition.nodes].map((node) =>
		node.type === OPT_IN_OUT_TYPE
			? { ...node, parameters: { ...node.parameters, direction: 'bidirectional' } }
			: node,
	);
	return {
		...template,
		nodes,
		connections: { ...template.connections, ...addition.connections },
		settings: withSuccessfulExecutionsSaved(template.settings),
	};
}

/**
 * Workflow settings that save successful executions too. The templates save failed ones only;
 * the demo's report and the tests read what every execution wrote.
 */
export function withSuccessfulExecutionsSaved(
	settings: WorkflowDefinition['settings'] = {},
): WorkflowDefinition['settings'] {
	return { ...settings, saveDataSuccessExecution: 'all' };
}

/**
 * Turns an exported workflow or template into the body the public API accepts (it rejects
 * read-only and unknown fields such as id, active, pinData, meta, tags), pointing every node's
 * credential of a given type at the credential created for it.
 */
export function workflowForApi(
	file: WorkflowFile,
	credentials: CredentialRefs = {},
): WorkflowDefinition {
	const nodes = file.nodes.map((node) => {
		if (!node.credentials) return node;
		const linked = Object.fromEntries(
			Object.entries(node.credentials).map(([type, current]) => [
				type,
				credentials[type] ?? current,
			]),
		);
		return { ...node, credentials: linked };
	});
	return {
		name: file.name,
		nodes,
		connections: file.connections,
		settings: file.settings ?? { executionOrder: 'v1' },
		...(file.staticData ? { staticData: file.staticData } : {}),
	};
}

/**
 * Sets every Schedule Trigger of the workflow to fire every `seconds` seconds. Polling triggers
 * (Dynamics 365 Trigger) are left alone: n8n refuses poll intervals under a minute.
 */
export function withScheduleEvery(
	workflow: WorkflowDefinition,
	seconds: number,
): WorkflowDefinition {
	return {
		...workflow,
		nodes: workflow.nodes.map((node) =>
			node.type === 'n8n-nodes-base.scheduleTrigger'
				? {
						...node,
						parameters: {
							...node.parameters,
							rule: { interval: [{ field: 'seconds', secondsInterval: seconds }] },
						},
					}
				: node,
		),
	};
}

/** Changes one node's parameters (shallow merge) in a workflow body. */
export function withNodeParameters(
	workflow: WorkflowDefinition,
	nodeName: string,
	parameters: Record<string, unknown>,
	extra: Partial<WorkflowNode> = {},
): WorkflowDefinition {
	if (!workflow.nodes.some((node) => node.name === nodeName)) {
		throw new Error(`workflow "${workflow.name}" has no node named "${nodeName}"`);
	}
	return {
		...workflow,
		nodes: workflow.nodes.map((node) =>
			node.name === nodeName
				? { ...node, ...extra, parameters: { ...node.parameters, ...parameters } }
				: node,
		),
	};
}

/** Creates and publishes the demo of the three templates; returns them by template name. */
export async function publishDemo(
	api: N8nApi,
	credentials: CredentialRefs,
	options: { scheduleSeconds?: number } = {},
): Promise<Record<TemplateName, Workflow>> {
	const result = {} as Record<TemplateName, Workflow>;
	for (const name of Object.keys(TEMPLATE_FILES) as TemplateName[]) {
		let body = workflowForApi(loadDemo(name), credentials);
		if (options.scheduleSeconds) body = withScheduleEvery(body, options.scheduleSeconds);
		const created = await api.createWorkflow(body);
		result[name] = await api.publishWorkflow(created.id);
	}
	return result;
}

export type SummaryJson = Record<string, unknown>;

/**
 * The `_summary` item of every node that produced one in this execution, by node name (the last
 * run of the node, main output). Empty when the execution holds no data.
 */
export function executionSummaries(execution: Execution): Record<string, SummaryJson> {
	const runData = execution.data?.resultData.runData ?? {};
	const summaries: Record<string, SummaryJson> = {};
	for (const [node, runs] of Object.entries(runData)) {
		const items = runs.at(-1)?.data?.main?.[0] ?? [];
		const summary = items.map((item) => item.json._summary).find((value) => value !== undefined);
		if (summary && typeof summary === 'object') summaries[node] = summary as SummaryJson;
	}
	return summaries;
}

/** Items a node put on one of its outputs (0 = main, 1 = error output) in its last run. */
export function nodeOutput(
	execution: Execution,
	node: string,
	output = 0,
): Array<Record<string, unknown>> {
	const runs = execution.data?.resultData.runData[node];
	if (!runs) return [];
	return (runs.at(-1)?.data?.main?.[output] ?? []).map((item) => item.json);
}

const COUNTERS = [
	'created',
	'updated',
	'deleted',
	'unchanged',
	'skipped',
	'failed',
	'writtenToCampaign',
	'writtenToDynamics',
	'conflicts',
	'eventsRead',
	'exported',
	'errors',
];

/** `created 3, updated 1, backlog 0`: the non-zero counters of a summary, backlog always. */
export function describeSummary(summary: SummaryJson): string {
	const parts: string[] = [];
	for (const key of COUNTERS) {
		let value = summary[key];
		if (value && typeof value === 'object' && 'total' in value) value = value.total;
		if (typeof value === 'number' && value !== 0) parts.push(`${key} ${value}`);
	}
	if (typeof summary.backlog === 'number')
		parts.push(`backlog ${summary.backlog}${summary.backlogAtLeast ? '+' : ''}`);
	return parts.length ? parts.join(', ') : 'nothing to do';
}

/** One line per execution, for a terminal: workflow, status and what each node did. */
export function describeExecution(execution: Execution, workflowName: string): string {
	const summaries = executionSummaries(execution);
	const nodes = Object.entries(summaries).map(([node, s]) => `${node}: ${describeSummary(s)}`);
	const error = execution.data?.resultData.error?.message;
	const time = (execution.stoppedAt ?? execution.startedAt ?? '').slice(11, 19);
	return [
		`${time} ${workflowName} #${execution.id} ${execution.status}`,
		...(nodes.length ? nodes : []),
		...(error ? [`error: ${error}`] : []),
	].join(' | ');
}

/**
 * Polls the public API for finished executions of the given workflows and hands each new one to
 * `report` once, oldest first. Returns a function that stops watching.
 */
export function watchExecutions(
	api: N8nApi,
	workflows: Array<{ id: string; name: string }>,
	report: (line: string, execution?: Execution) => void,
	intervalMs = 5000,
): () => void {
	const seen = new Set<string>();
	let stopped = false;
	let timer: NodeJS.Timeout | undefined;
	const tick = async () => {
		for (const workflow of workflows) {
			if (stopped) return;
			try {
				const executions = await api.listExecutions({
					workflowId: workflow.id,
					includeData: true,
					limit: 20,
				});
				for (const execution of [...executions].reverse()) {
					if (seen.has(execution.id) || !execution.stoppedAt) continue;
					seen.add(execution.id);
					report(describeExecution(execution, workflow.name), execution);
				}
			} catch (error) {
				report(`status check failed: ${(error as Error).message}`);
			}
		}
		if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
	};
	void tick();
	return () => {
		stopped = true;
		if (timer) clearTimeout(timer);
	};
}
