/**
 * B8 Real n8n: the template's contacts load in a real n8n (the pinned release, our package
 * installed as a community package, its own database, credentials and expression engine),
 * against the ceiling of n8n's request helper in the same n8n: the same chain with Campaign Upsert
 * replaced by a node that only sends the same Campaign requests through
 * `httpRequestWithAuthentication`, 100 at a time (bench/ceiling-node.ts, loaded from a custom
 * extensions folder). B2 measures the same chain in n8n-core's engine inside the benchmark's
 * process, where credentials live in memory; in n8n each credential read is a database read and
 * a decryption, and n8n stores every execution's data.
 *
 * Every case runs on its own execution, started by publishing (publishing polls the trigger at
 * once): the contacts (all in one execution) come from the Dynamics 365 Trigger, and n8n's own
 * execution times are the figures (startedAt to stoppedAt; the poll is not part of it).
 * `npm run bench:real [-- --count 5000] [-- --profile]`; writes bench/real-n8n.json, which the
 * report shows. `--profile` also profiles n8n's main process during each case (its speed under the
 * profiler is not a figure, so its figures are not written).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

import { CampaignSandboxAdmin } from '../sandbox/campaign/admin';
import { DataverseSandboxAdmin } from '../sandbox/dataverse/admin';
import { SANDBOX_DEFAULTS } from '../sandbox/defaults';
import { startSandbox } from '../sandbox';
import type { N8nApi, WorkflowDefinition, WorkflowNode } from '../sandbox/n8n/api';
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
import type { IDataObject } from 'n8n-workflow';
import { CEILING_NODE_NAME, type CeilingRequests } from './ceiling-node';
import { summarize, type Profile, type ProfileSummary } from './profile';
import { chainOf } from './support';

const TRIGGER = 'Contacts: Dynamics 365 Trigger';
const MAPPING = 'Contacts: Apply Field Mapping';
const LATENCY_MS = 20;
const CEILING_CONCURRENCY = 100;
/** Records of the warm-up executions. */
const WARM_UP = 1000;
const CEILING_TYPE = `CUSTOM.${CEILING_NODE_NAME}`;

const UPSERT = 'Contacts: Campaign Upsert';

/** The ceiling's node as n8n loads it: bench/ceiling-node.ts, transpiled to CommonJS. */
function ceilingNodeSource(): string {
	const source = readFileSync(path.join(__dirname, 'ceiling-node.ts'), 'utf8');
	return ts.transpileModule(source, {
		compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
	}).outputText;
}

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
	/** Campaign Upsert's summary: the concurrency it reached, and 429/503 answers. */
	concurrency?: number;
	throttled?: number;
	/** n8n's main process during the case, with `--profile`. */
	profile?: ProfileSummary;
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

/** The template's chain with Campaign Upsert replaced by the ceiling's node (the same input). */
function ceilingWorkflow(
	credentials: Record<string, { id: string; name: string }>,
	count: number,
	campaignApi: string,
	requests: CeilingRequests,
	credentialOnce: boolean,
): WorkflowDefinition {
	const template = templateChain(credentials, count, false);
	const upsert = template.nodes.find((n) => n.name === UPSERT)!;
	const ceiling: WorkflowNode = {
		id: 'bench-ceiling',
		name: 'One Request per Item',
		type: CEILING_TYPE,
		typeVersion: 1,
		position: upsert.position,
		parameters: { url: campaignApi, requests, concurrency: CEILING_CONCURRENCY, credentialOnce },
		credentials: { adobeCampaignStandardApi: credentials.adobeCampaignStandardApi },
	};
	const connections = JSON.parse(
		JSON.stringify(template.connections)
			.split(JSON.stringify(UPSERT))
			.join(JSON.stringify(ceiling.name)),
	) as WorkflowDefinition['connections'];
	return {
		...template,
		name: `B8 ceiling, ${requests}${credentialOnce ? ', credential read once' : ''}`,
		nodes: [...template.nodes.filter((n) => n !== upsert), ceiling],
		connections,
	};
}

/**
 * Waits until no execution of the workflow runs. Unpublishing stops its polls, not an execution a
 * poll had already started: a warm-up (1,000 of the 5,000 contacts a run) polled again at the
 * minute (the template's poll time) kept creating profiles in the background after Campaign was
 * emptied for the next case, which then found 5,400 profiles where it made 5,000 (2026-12-02).
 * Not `api.waitForExecutions`: n8n's public API leaves running executions out of its list unless
 * asked for `status=running` (n8n 2.40, executions.public.controller: `excludeRunning`).
 */
async function untilNoneRunning(api: Run['api'], workflowId: string, name: string): Promise<void> {
	const deadline = Date.now() + 10 * 60_000;
	while ((await api.listExecutions({ workflowId, status: 'running' })).length > 0) {
		if (Date.now() > deadline) throw new Error(`${name}: an execution still runs after 10 minutes`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

/** Profiles n8n's main process while `fn` runs (bench/n8n-profiler.js). */
async function profiledIn<T>(
	pid: number,
	file: string | undefined,
	fn: () => Promise<T>,
): Promise<{ value: T; profile?: ProfileSummary }> {
	if (!file) return { value: await fn() };
	rmSync(file, { force: true });
	process.kill(pid, 'SIGUSR2');
	const value = await fn();
	process.kill(pid, 'SIGUSR2');
	const deadline = Date.now() + 60_000;
	for (;;) {
		try {
			return { value, profile: summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, 80) };
		} catch (error) {
			if (Date.now() > deadline) throw error;
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
	}
}

interface Run {
	api: N8nApi;
	campaign: CampaignSandboxAdmin;
	/** n8n's main process, and where bench/n8n-profiler.js writes (with `--profile`). */
	pid: number;
	profileFile?: string;
}

/** Publishes, waits for the one execution publishing starts, unpublishes; n8n's figures. */
async function runOnce(
	run: Run,
	body: WorkflowDefinition,
	records: number,
	profile = true,
): Promise<CaseFigures> {
	const { api, campaign } = run;
	const workflow = await api.createWorkflow(body);
	await campaign.resetCounters();
	const { value: done, profile: cpu } = await profiledIn(
		run.pid,
		profile ? run.profileFile : undefined,
		async () => {
			await api.publishWorkflow(workflow.id);
			try {
				const deadline = Date.now() + 10 * 60_000;
				for (;;) {
					if (Date.now() > deadline)
						throw new Error(`${body.name}: no execution within 10 minutes`);
					await new Promise((resolve) => setTimeout(resolve, 250));
					const executions = await api.listExecutions({ workflowId: workflow.id, limit: 5 });
					const stopped = executions.find((e) => e.stoppedAt);
					if (stopped) return stopped;
				}
			} finally {
				await api.unpublishWorkflow(workflow.id);
			}
		},
	);
	// Outside the profile: waiting out a stray execution is not the case's work.
	await untilNoneRunning(api, workflow.id, body.name);
	const full = await api.getExecution(done.id, true);
	if (done.status !== 'success') {
		const error = full.data?.resultData.error;
		throw new Error(
			`${body.name}: execution ${done.status}: ${error?.message ?? 'no message'} ${error?.description ?? ''}`,
		);
	}
	const runData = full.data?.resultData.runData as
		| Record<
				string,
				Array<{ executionTime?: number; data?: { main?: Array<Array<{ json: IDataObject }>> } }>
		  >
		| undefined;
	const nodeSeconds = Object.fromEntries(
		Object.entries(runData ?? {}).map(([name, runs]) => [
			name,
			runs.reduce((s, r) => s + (r.executionTime ?? 0), 0) / 1000,
		]),
	);
	const summary = runData?.[UPSERT]?.at(-1)?.data?.main?.[0]?.at(-1)?.json._summary as
		IDataObject | undefined;
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
		...(summary
			? { concurrency: Number(summary.concurrency), throttled: Number(summary.throttled ?? 0) }
			: {}),
		...(cpu ? { profile: cpu } : {}),
	};
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const index = args.indexOf('--count');
	const count = index >= 0 ? Number(args[index + 1]) : 5000;
	const profiling = args.includes('--profile');
	await installRuntime({ log: progress });
	const tarball = await packPackage(undefined, progress);
	const extensions = mkdtempSync(path.join(os.tmpdir(), 'n8n-bench-nodes-'));
	writeFileSync(path.join(extensions, 'BenchOneRequestPerItem.node.js'), ceilingNodeSource());
	const profileFile = profiling ? path.join(extensions, 'n8n.cpuprofile') : undefined;
	const sandbox = await startSandbox({
		dataverse: { port: 0, demoRecords: 0 },
		campaign: { port: 0 },
	});
	try {
		const n8n = await startN8n({
			packageTarball: tarball,
			env: {
				N8N_CUSTOM_EXTENSIONS: extensions,
				...(profileFile ? { BENCH_PROFILE_FILE: profileFile } : {}),
			},
			nodeArgs: profiling ? ['--require', path.join(__dirname, 'n8n-profiler.js')] : [],
			log: progress,
		});
		try {
			const { api } = n8n;
			const campaign = new CampaignSandboxAdmin(sandbox.campaign.url);
			const dataverse = new DataverseSandboxAdmin(sandbox.dataverse.url);
			const run: Run = { api, campaign, pid: n8n.pid, profileFile };
			const credentials = await createSandboxCredentials(api, sandbox);
			const campaignApi = `${sandbox.campaign.url}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign/profileAndServicesExt/profile`;
			await dataverse.generate('contact', count, 21);
			await dataverse.setLatency(LATENCY_MS);
			/** Campaign empty (or holding every contact, for lookups that find them), then the case. */
			const fresh = async (body: WorkflowDefinition, profiles: 'none' | 'all') => {
				if (profiles === 'none') await campaign.reset({ profiles: 0 });
				await campaign.setLatency(LATENCY_MS);
				const figures = await runOnce(run, body, count);
				const held = (await campaign.dump('profile')).records.length;
				if (held !== count)
					throw new Error(`${body.name}: Campaign holds ${held} profiles, expected ${count}`);
				return figures;
			};
			const ceiling = (requests: CeilingRequests, credentialOnce = true) =>
				fresh(
					ceilingWorkflow(credentials, count, campaignApi, requests, credentialOnce),
					requests === 'lookup' ? 'all' : 'none',
				);
			// A warm-up of each kind first (not a figure): the first execution in a fresh n8n also
			// loads and compiles the code its nodes and n8n's helper run, and Campaign Upsert starts
			// from what the last run of the process learnt, as a polling workflow's runs do.
			await campaign.reset({ profiles: 0 });
			await campaign.setLatency(LATENCY_MS);
			await runOnce(run, templateChain(credentials, WARM_UP, true), WARM_UP, false);
			await campaign.reset({ profiles: 0 });
			await campaign.setLatency(LATENCY_MS);
			await runOnce(
				run,
				ceilingWorkflow(credentials, WARM_UP, campaignApi, 'lookupCreate', true),
				WARM_UP,
				false,
			);
			// Each load and each create ceiling starts from an empty Campaign. Three rounds, each
			// load's and its ceiling's order swapped in the second, the fastest of each kept: in one
			// process, whichever of two executions ran first was up to 1.5x slower than the other,
			// more than the difference measured (seen on 2026-12-02, warm-up or not).
			const rounds: Array<Record<string, CaseFigures>> = [];
			for (const loadFirst of [false, true, false]) {
				const round: Record<string, CaseFigures> = {};
				const pair = async (loadCase: string, ceilingCase: string, keyUnique: boolean) => {
					const requests = keyUnique ? 'create' : 'lookupCreate';
					const load = () => fresh(templateChain(credentials, count, keyUnique), 'none');
					if (loadFirst) round[loadCase] = await load();
					round[ceilingCase] = await ceiling(requests);
					if (!loadFirst) round[loadCase] = await load();
				};
				await pair('oursUnique', 'ceilingCreate', true);
				await pair('ours', 'ceilingLookupCreate', false);
				rounds.push(round);
			}
			const best = (name: string) =>
				rounds.map((r) => r[name]).reduce((a, b) => (b.seconds < a.seconds ? b : a));
			const [oursUnique, ceilingCreate, ours, ceilingLookupCreate] = [
				'oursUnique',
				'ceilingCreate',
				'ours',
				'ceilingLookupCreate',
			].map(best);
			// After a load, Campaign holds every contact for the lookups to find.
			const ceilingLookupPlain = await ceiling('lookup', false);
			const ceilingLookup = await ceiling('lookup');
			const result = {
				case: 'b8-real-n8n',
				n8nVersion: n8n.version,
				load: `${count} contacts, the template's contacts chain in one execution (5,000 rows a page), ${LATENCY_MS} ms latency on both sandboxes`,
				count,
				latencyMs: LATENCY_MS,
				ceilingConcurrency: CEILING_CONCURRENCY,
				rounds: rounds.map((r) =>
					Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.seconds])),
				),
				cpus: os.cpus().length,
				ours,
				oursUnique,
				ceilingLookupPlain,
				ceilingLookup,
				ceilingCreate,
				ceilingLookupCreate,
				// Each load against the helper alone sending the same requests, over the same chain.
				uniqueRatioToCeiling: oursUnique.recordsPerSecond / ceilingCreate.recordsPerSecond,
				templateRatioToCeiling: ours.recordsPerSecond / ceilingLookupCreate.recordsPerSecond,
				note: 'n8n, the sandboxes and this script share the same CPUs.',
				measuredAt: new Date().toISOString(),
			};
			const out = profiling ? 'real-n8n-profile.json' : 'real-n8n.json';
			writeFileSync(path.join(__dirname, out), `${JSON.stringify(result, null, '\t')}\n`);
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
