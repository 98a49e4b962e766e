/**
 * B8 Real n8n: the template's contacts load in a real n8n (the pinned release, our package
 * installed as a community package, its own database, credentials and expression engine),
 * against the ceiling of n8n's request helper in the same n8n: a node that only sends one Campaign
 * lookup per item through `httpRequestWithAuthentication`, 100 at a time. B2 measures the same
 * chain in n8n-core's engine inside the benchmark's process, where credentials live in memory;
 * in n8n each credential read is a database read and a decryption, and n8n 2.x evaluates a
 * credential's generic `{{$credentials…}}` headers in its isolated expression runtime.
 *
 * Every case runs on its own execution, started by publishing (publishing polls the trigger at
 * once): the contacts (all in one execution) come from the Dynamics 365 Trigger, and n8n's own
 * execution times are the figures (startedAt to stoppedAt; the poll is not part of it).
 * `npm run bench:real [-- --count 5000]`; writes bench/real-n8n.json, which the report shows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CampaignSandboxAdmin } from '../sandbox/campaign/admin';
import { DataverseSandboxAdmin } from '../sandbox/dataverse/admin';
import { SANDBOX_DEFAULTS } from '../sandbox/defaults';
import { startSandbox } from '../sandbox';
import type { Execution, N8nApi, WorkflowDefinition, WorkflowNode } from '../sandbox/n8n/api';
import { installRuntime } from '../sandbox/n8n/install-runtime';
import { packPackage, startN8n } from '../sandbox/n8n/launcher';
import {
	loadTemplate,
	withNodeParameters,
	withSuccessfulExecutionsSaved,
	workflowForApi,
} from '../sandbox/n8n/templates';
import { createSandboxCredentials } from '../sandbox/queue/workload';
import type { WorkflowJson } from '../sandbox/harness/engine';
import { chainOf } from './support';

const TRIGGER = 'Contacts: Dynamics 365 Trigger';
const MAPPING = 'Contacts: Apply Field Mapping';
const LATENCY_MS = 20;
const CEILING_CONCURRENCY = 100;
const CEILING_TYPE = 'CUSTOM.benchOneRequestPerItem';

/**
 * The ceiling's node, loaded by n8n from a custom extensions folder (benchmark only, never in the
 * package): one `GET profile/byExternalId` per item through n8n's helper, `concurrency` at a time.
 * "Credential read once" hands the helper the credential the node read (as our nodes do); without
 * it the helper reads the credential for every request, as a node calls it by default.
 */
const CEILING_NODE = `
class BenchOneRequestPerItem {
	constructor() {
		this.description = {
			displayName: 'One Request per Item',
			name: 'benchOneRequestPerItem',
			group: ['transform'],
			version: 1,
			description: 'Benchmark only',
			defaults: { name: 'One Request per Item' },
			inputs: ['main'],
			outputs: ['main'],
			credentials: [{ name: 'adobeCampaignStandardApi', required: true }],
			properties: [
				{ displayName: 'URL', name: 'url', type: 'string', default: '' },
				{ displayName: 'Concurrency', name: 'concurrency', type: 'number', default: 100 },
				{ displayName: 'Credential Read Once', name: 'credentialOnce', type: 'boolean', default: false },
			],
		};
	}
	async execute() {
		const items = this.getInputData();
		const url = this.getNodeParameter('url', 0);
		const concurrency = this.getNodeParameter('concurrency', 0);
		let additional;
		if (this.getNodeParameter('credentialOnce', 0)) {
			const data = await this.getCredentials('adobeCampaignStandardApi');
			const ref = this.getNode().credentials.adobeCampaignStandardApi;
			additional = {
				credentialsDecrypted: { id: ref.id, name: ref.name, type: 'adobeCampaignStandardApi', data: { ...data } },
			};
		}
		let next = 0;
		let found = 0;
		const worker = async () => {
			while (next < items.length) {
				const item = items[next++];
				const answer = await this.helpers.httpRequestWithAuthentication.call(
					this,
					'adobeCampaignStandardApi',
					{ method: 'GET', url: url + '/byExternalId', qs: { externalId_parameter: String(item.json.contactid) }, json: true },
					additional,
				);
				found += answer.content.length;
			}
		};
		await Promise.all(Array.from({ length: concurrency }, worker));
		return [[{ json: { requests: items.length, found } }]];
	}
}
module.exports = { BenchOneRequestPerItem };
`;

interface CaseFigures {
	records: number;
	/** n8n's execution time (startedAt to stoppedAt). */
	seconds: number;
	recordsPerSecond: number;
	/** Campaign requests during the execution (token requests left out). */
	campaignRequests: number;
	campaignRequestsPerSecond: number;
	/** Node execution times n8n recorded, by node. */
	nodeSeconds: Record<string, number>;
}

function progress(line: string): void {
	if (line.startsWith('[')) process.stderr.write(`${line}\n`);
}

/** The template's contacts chain, every contact in one execution, 5,000 rows per page. */
function templateChain(
	credentials: Record<string, { id: string; name: string }>,
	count: number,
	keyUnique: boolean,
): WorkflowDefinition {
	const file = loadTemplate('dynamicsToCampaign');
	const chain = chainOf(file as unknown as WorkflowJson, TRIGGER);
	let workflow = workflowForApi(
		{
			...file,
			name: `B8 template${keyUnique ? ', key declared unique' : ''}`,
			nodes: chain.nodes as unknown as WorkflowNode[],
			connections: chain.connections as unknown as WorkflowDefinition['connections'],
			settings: withSuccessfulExecutionsSaved(file.settings),
		},
		credentials,
	);
	const options = workflow.nodes.find((n) => n.name === TRIGGER)?.parameters.options as object;
	workflow = withNodeParameters(workflow, TRIGGER, {
		options: { ...options, pageSize: 5000, maxRecordsPerRun: count },
	});
	if (keyUnique) workflow = withNodeParameters(workflow, MAPPING, { campaignKeyUnique: true });
	return workflow;
}

/** The contacts trigger of the template, then the ceiling's node. */
function ceilingWorkflow(
	credentials: Record<string, { id: string; name: string }>,
	count: number,
	campaignApi: string,
	credentialOnce: boolean,
): WorkflowDefinition {
	const template = templateChain(credentials, count, false);
	const trigger = template.nodes.find((n) => n.name === TRIGGER)!;
	const ceiling: WorkflowNode = {
		id: 'bench-ceiling',
		name: 'One Request per Item',
		type: CEILING_TYPE,
		typeVersion: 1,
		position: [trigger.position[0] + 240, trigger.position[1]],
		parameters: { url: campaignApi, concurrency: CEILING_CONCURRENCY, credentialOnce },
		credentials: { adobeCampaignStandardApi: credentials.adobeCampaignStandardApi },
	};
	return {
		...template,
		name: `B8 ceiling${credentialOnce ? ', credential read once' : ''}`,
		nodes: [trigger, ceiling],
		connections: { [TRIGGER]: { main: [[{ node: ceiling.name, type: 'main', index: 0 }]] } },
	};
}

/** Publishes, waits for the one execution publishing starts, unpublishes; n8n's figures. */
async function runOnce(
	api: N8nApi,
	campaign: CampaignSandboxAdmin,
	body: WorkflowDefinition,
	records: number,
): Promise<CaseFigures> {
	const workflow = await api.createWorkflow(body);
	await campaign.resetCounters();
	await api.publishWorkflow(workflow.id);
	let done: Execution | undefined;
	try {
		const deadline = Date.now() + 10 * 60_000;
		while (!done) {
			if (Date.now() > deadline) throw new Error(`${body.name}: no execution within 10 minutes`);
			await new Promise((resolve) => setTimeout(resolve, 1000));
			const executions = await api.listExecutions({ workflowId: workflow.id, limit: 5 });
			done = executions.find((e) => e.stoppedAt);
		}
	} finally {
		await api.unpublishWorkflow(workflow.id);
	}
	if (done.status !== 'success') throw new Error(`${body.name}: execution ${done.status}`);
	const full = await api.getExecution(done.id, true);
	const runData = full.data?.resultData.runData as
		Record<string, Array<{ executionTime?: number }>> | undefined;
	const nodeSeconds = Object.fromEntries(
		Object.entries(runData ?? {}).map(([name, runs]) => [
			name,
			runs.reduce((s, r) => s + (r.executionTime ?? 0), 0) / 1000,
		]),
	);
	const seconds = (new Date(done.stoppedAt!).getTime() - new Date(done.startedAt).getTime()) / 1000;
	const counters = await campaign.counters();
	const campaignRequests = Object.entries(counters)
		.filter(([route]) => !/token/.test(route))
		.reduce((sum, [, n]) => sum + n, 0);
	progress(`[bench] ${body.name}: ${records} records in ${seconds.toFixed(2)} s`);
	return {
		records,
		seconds,
		recordsPerSecond: records / seconds,
		campaignRequests,
		campaignRequestsPerSecond: campaignRequests / seconds,
		nodeSeconds,
	};
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const index = args.indexOf('--count');
	const count = index >= 0 ? Number(args[index + 1]) : 5000;
	await installRuntime({ log: progress });
	const tarball = await packPackage(undefined, progress);
	const extensions = mkdtempSync(path.join(os.tmpdir(), 'n8n-bench-nodes-'));
	writeFileSync(path.join(extensions, 'BenchOneRequestPerItem.node.js'), CEILING_NODE);
	const sandbox = await startSandbox({
		dataverse: { port: 0, demoRecords: 0 },
		campaign: { port: 0 },
	});
	try {
		const n8n = await startN8n({
			packageTarball: tarball,
			env: { N8N_CUSTOM_EXTENSIONS: extensions },
			log: progress,
		});
		try {
			const { api } = n8n;
			const campaign = new CampaignSandboxAdmin(sandbox.campaign.url);
			const dataverse = new DataverseSandboxAdmin(sandbox.dataverse.url);
			const credentials = await createSandboxCredentials(api, sandbox);
			const campaignApi = `${sandbox.campaign.url}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign/profileAndServicesExt/profile`;
			await dataverse.generate('contact', count, 21);
			await dataverse.setLatency(LATENCY_MS);
			await campaign.setLatency(LATENCY_MS);
			const load = async (keyUnique: boolean) => {
				await campaign.reset({ profiles: 0 });
				await campaign.setLatency(LATENCY_MS);
				const figures = await runOnce(
					api,
					campaign,
					templateChain(credentials, count, keyUnique),
					count,
				);
				const profiles = (await campaign.dump('profile')).records.length;
				if (profiles !== count)
					throw new Error(`Campaign holds ${profiles} profiles, expected ${count}`);
				return figures;
			};
			const ceiling = (credentialOnce: boolean) =>
				runOnce(
					api,
					campaign,
					ceilingWorkflow(credentials, count, campaignApi, credentialOnce),
					count,
				);
			// Interleaved: each load leaves Campaign holding every contact, which the ceiling looks up.
			const oursUnique = await load(true);
			const ceilingPlain = await ceiling(false);
			const ceilingOnce = await ceiling(true);
			const ours = await load(false);
			const best = Math.max(
				ceilingPlain.campaignRequestsPerSecond,
				ceilingOnce.campaignRequestsPerSecond,
			);
			const result = {
				case: 'b8-real-n8n',
				n8nVersion: n8n.version,
				load: `${count} contacts, the template's contacts chain in one execution (5,000 rows a page), ${LATENCY_MS} ms latency on both sandboxes`,
				count,
				latencyMs: LATENCY_MS,
				ceilingConcurrency: CEILING_CONCURRENCY,
				cpus: os.cpus().length,
				ours,
				oursUnique,
				ceilingPlain,
				ceilingOnce,
				uniqueRatioToCeiling: oursUnique.recordsPerSecond / best,
				note: 'n8n, the sandboxes and this script share the same CPUs.',
				measuredAt: new Date().toISOString(),
			};
			writeFileSync(path.join(__dirname, 'real-n8n.json'), JSON.stringify(result, null, 2) + '\n');
			console.log(JSON.stringify(result, null, 2));
		} finally {
			await n8n.stop();
		}
	} finally {
		await sandbox.close();
		rmSync(extensions, { recursive: true, force: true });
		rmSync(path.dirname(tarball), { recursive: true, force: true });
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
