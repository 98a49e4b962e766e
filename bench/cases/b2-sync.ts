/**
 * B2 Sync: initial load of contacts from the Dataverse sandbox into Campaign profiles, with our
 * template's contacts chain, or with a hand-built workflow of n8n's HTTP Request nodes doing the
 * same (page through Dataverse, look each record up in Campaign by key, PATCH or POST). One variant
 * per process, so peak memory is that variant's alone; the sandboxes run in a process of their own.
 */
import type { IDataObject, INode } from 'n8n-workflow';

import { BenchOneRequestPerItem, CEILING_NODE_NAME, type CeilingRequests } from '../ceiling-node';
import { measureOwnCode } from '../own-code';
import { profiled, type ProfileSummary } from '../profile';

import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import type { TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';
import {
	BUILT_IN_VERSIONS,
	chainOf,
	cpuMicrosSince,
	engine,
	generateContacts,
	loadTemplate,
	peakRss,
	startSandboxProcess,
	sumCounters,
	timed,
	type Engine,
	type SandboxProcess,
} from '../support';

export const CONTACTS_TRIGGER = 'Contacts: Dynamics 365 Trigger';
export const CONTACTS_UPSERT = 'Contacts: Campaign Upsert';
export const CONTACTS_MAPPING = 'Contacts: Apply Field Mapping';

export interface Counts {
	dataverse: Record<string, number>;
	campaign: Record<string, number>;
}

/** Requests per service, without token requests (a token is one request per hour). */
export function requestFigures(counts: Counts, records: number, pages: number) {
	const dataverse = sumCounters(counts.dataverse, /^(?!POST token)/);
	const dataverseReads = sumCounters(counts.dataverse, /^GET contacts/);
	const campaign = sumCounters(counts.campaign, /^(?!POST ims:token)/);
	return {
		dataverseRequests: dataverse,
		dataverseContactReads: dataverseReads,
		dataverseReadsPerPage: dataverseReads / pages,
		campaignRequests: campaign,
		campaignRequestsPerRecord: campaign / records,
		dataverseRequestsPerRecord: dataverse / records,
	};
}

/** Our template's contacts chain, run as n8n runs an active workflow: poll until nothing is left. */
export async function runTemplate(
	env: Engine,
	options: {
		pageSize: number;
		maxRecordsPerRun: number;
		concurrency?: number;
		replay?: string;
		/** "Campaign Refuses Duplicate Keys" on: an initial load creates without a lookup first. */
		keyUnique?: boolean;
		/** Called after each run (e.g. to read the sandboxes' counters). */
		afterRun?: () => Promise<void>;
	},
	wf = env.workflow(chainOf(loadTemplate('dynamics-to-campaign.json'), CONTACTS_TRIGGER)),
) {
	wf.setParameters(CONTACTS_TRIGGER, {
		options: { pageSize: options.pageSize, maxRecordsPerRun: options.maxRecordsPerRun },
		...(options.replay ? { replayData: options.replay } : {}),
	});
	if (options.concurrency) wf.setParameters(CONTACTS_UPSERT, { concurrency: options.concurrency });
	if (options.keyUnique) wf.setParameters(CONTACTS_MAPPING, { campaignKeyUnique: true });
	const summary = { runs: 0, created: 0, updated: 0, unchanged: 0, failed: 0, concurrency: 0 };
	// Where the time went: the trigger's polls, the transform nodes, Campaign Upsert (n8n's
	// execution times of each node), the engine around them.
	const time = { pollMs: 0, runMs: 0, upsertMs: 0, transformMs: 0 };
	for (let i = 0; i < 100_000; i++) {
		const polled = Date.now();
		const items = await wf.poll(CONTACTS_TRIGGER);
		time.pollMs += Date.now() - polled;
		if (!items) break;
		const started = Date.now();
		const run = await wf.run(CONTACTS_TRIGGER, items, 'trigger');
		time.runMs += Date.now() - started;
		for (const [name, runs] of Object.entries(run.run.data.resultData.runData)) {
			const ms = runs.reduce((sum, r) => sum + (r.executionTime ?? 0), 0);
			if (name === CONTACTS_UPSERT) time.upsertMs += ms;
			else if (name !== CONTACTS_TRIGGER) time.transformMs += ms;
		}
		if (run.error) throw run.error;
		summary.runs++;
		const last = run.output(CONTACTS_UPSERT).at(-1)?._summary as IDataObject | undefined;
		for (const key of ['created', 'updated', 'unchanged', 'failed'] as const) {
			summary[key] += Number(last?.[key] ?? 0);
		}
		// The concurrency Campaign Upsert reached in the last run.
		summary.concurrency = Number(last?.concurrency ?? 0);
		const errors = run.output(CONTACTS_UPSERT, 1);
		if (errors.length) throw new Error(`records failed: ${JSON.stringify(errors[0])}`);
		await options.afterRun?.();
	}
	return { wf, summary, time };
}

const GENDER_EXPR =
	"{{ $json.gendercode === 1 ? 'male' : $json.gendercode === 2 ? 'female' : undefined }}";

/**
 * Without batching, HTTP Request sends one request per item all at once: 20,000 open sockets fail
 * (file descriptors, resets). A user sets batching; 50 items every 10 ms caps it at 5,000/s.
 */
const BATCHING = { batching: { batch: { batchSize: 50, batchInterval: 10 } } };

/** The same sync built from n8n's HTTP Request nodes, with the package's credentials. */
export function handBuiltWorkflow(urls: SandboxProcess, pageSize: number): WorkflowJson {
	const campaignApi = `${urls.campaign}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign/profileAndServicesExt/profile`;
	const dynamics = { dynamics365Api: { id: '1', name: 'Dynamics 365 (sandbox)' } };
	const campaign = { adobeCampaignStandardApi: { id: '2', name: 'Campaign (sandbox)' } };
	const http = (
		name: string,
		i: number,
		parameters: IDataObject,
		credentials: INode['credentials'],
	): INode => ({
		id: `h${i}`,
		name,
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: BUILT_IN_VERSIONS.httpRequest,
		position: [i * 220, 0],
		parameters: {
			authentication: 'predefinedCredentialType',
			nodeCredentialType: Object.keys(credentials!)[0],
			...parameters,
		},
		credentials,
	});
	const body = `={{ JSON.stringify({ externalId: $json.contactid, firstName: $json.firstname ?? undefined, lastName: $json.lastname ?? undefined, email: $json.emailaddress1 ?? undefined, birthDate: $json.birthdate ?? undefined, gender: ${GENDER_EXPR.slice(3, -3)} }) }}`;
	const nodes: INode[] = [
		{
			id: 'h0',
			name: 'Start',
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: [0, 0],
			parameters: {},
		},
		http(
			'Get Contacts',
			1,
			{
				url: `${urls.dataverse}/api/data/v9.2/contacts?$select=contactid,firstname,lastname,emailaddress1,birthdate,gendercode`,
				sendHeaders: true,
				headerParameters: {
					parameters: [{ name: 'Prefer', value: `odata.maxpagesize=${pageSize}` }],
				},
				options: {
					pagination: {
						pagination: {
							paginationMode: 'responseContainsNextURL',
							nextURL: '={{ $response.body["@odata.nextLink"] }}',
							paginationCompleteWhen: 'other',
							completeExpression: '={{ !$response.body["@odata.nextLink"] }}',
							limitPagesFetched: false,
						},
					},
				},
			},
			dynamics,
		),
		{
			id: 's1',
			name: 'Split Out',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			position: [440, 200],
			parameters: { fieldToSplitOut: 'value', options: {} },
		},
		http(
			'Find Profile',
			3,
			{
				url: `=${campaignApi}/byExternalId?externalId_parameter={{ encodeURIComponent($json.contactid) }}`,
				options: BATCHING,
			},
			campaign,
		),
		{
			id: 'i1',
			name: 'Exists?',
			type: 'n8n-nodes-base.if',
			typeVersion: 2.2,
			position: [880, 0],
			parameters: {
				conditions: {
					options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
					conditions: [
						{
							id: 'e1',
							leftValue: '={{ $json.content.length }}',
							rightValue: 0,
							operator: { type: 'number', operation: 'gt' },
						},
					],
					combinator: 'and',
				},
				options: {},
			},
		},
		http(
			'Update Profile',
			5,
			{
				method: 'PATCH',
				url: `=${campaignApi}/{{ $json.content[0].PKey }}`,
				sendBody: true,
				specifyBody: 'json',
				jsonBody: body.replace(/\$json\./g, "$('Split Out').item.json."),
				options: BATCHING,
			},
			campaign,
		),
		http(
			'Create Profile',
			6,
			{
				method: 'POST',
				url: campaignApi,
				sendBody: true,
				specifyBody: 'json',
				jsonBody: body.replace(/\$json\./g, "$('Split Out').item.json."),
				options: BATCHING,
			},
			campaign,
		),
	];
	const link = (...to: string[][]) => ({
		main: to.map((targets) => targets.map((node) => ({ node, type: 'main' as const, index: 0 }))),
	});
	return {
		name: 'B2 hand-built',
		nodes,
		connections: {
			Start: link(['Get Contacts']),
			'Get Contacts': link(['Split Out']),
			'Split Out': link(['Find Profile']),
			'Find Profile': link(['Exists?']),
			'Exists?': link(['Update Profile'], ['Create Profile']),
		},
	};
}

/** Requests in flight in the ceiling measurement: as many as the hand-built workflow keeps. */
export const CEILING_CONCURRENCY = 100;

/** A profile as the template's mapping writes one (the lookup ceiling looks these up by key). */
export function ceilingProfile(i: number): IDataObject {
	return {
		externalId: `6f1c2b7e-0000-4000-8000-${String(i).padStart(12, '0')}`,
		firstName: `Firstname${i}`,
		lastName: `Lastname${i}`,
		email: `first.last${i}@example.com`,
		birthDate: '1980-06-15',
		gender: i % 2 ? 'male' : 'female',
	};
}

/** The ceiling variants of B2, by what their node sends per record (bench/ceiling-node.ts). */
export const CEILING_REQUESTS: Record<string, CeilingRequests> = {
	ceiling: 'lookup',
	ceilingCreate: 'create',
	ceilingLookupCreate: 'lookupCreate',
};

/**
 * The ceiling, ready to run: n8n-core's engine with the ceiling's node, and `count` profiles that a
 * start node hands over at once. Only the function it returns is timed: making the engine loads
 * n8n's own nodes (about a second, which the loads' figures do not hold either).
 */
export function prepareCeiling(
	sandbox: SandboxProcess,
	count: number,
	requests: CeilingRequests,
	concurrency = CEILING_CONCURRENCY,
): () => Promise<void> {
	const campaignApi = `${sandbox.campaign}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign/profileAndServicesExt/profile`;
	const env = engine(sandbox, true, {
		[`bench.${CEILING_NODE_NAME}`]: new BenchOneRequestPerItem(),
	});
	const wf = env.workflow({
		name: 'B2 ceiling',
		nodes: [
			{
				id: 'c0',
				name: 'Start',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{
				id: 'c1',
				name: 'Requests',
				type: `bench.${CEILING_NODE_NAME}`,
				typeVersion: 1,
				position: [220, 0],
				parameters: { url: campaignApi, requests, concurrency, credentialOnce: true },
				credentials: { adobeCampaignStandardApi: { id: '2', name: 'Campaign (sandbox)' } },
			},
		],
		connections: { Start: { main: [[{ node: 'Requests', type: 'main', index: 0 }]] } },
	});
	const input = Array.from({ length: count }, (_, i) => ({ json: ceilingProfile(i) }));
	return async () => {
		const result = await wf.run('Start', [input]);
		if (result.error) throw result.error;
		const sent = result.output('Requests')[0] as IDataObject | undefined;
		const expected = requests === 'lookup' ? { found: count } : { created: count };
		for (const [field, n] of Object.entries(expected)) {
			if (sent?.[field] !== n)
				throw new Error(`the ceiling ${field} ${String(sent?.[field])} of ${n}`);
		}
	};
}

/**
 * After the load, 1% of the contacts change in Dynamics (first name) and the template's chain runs
 * again: Campaign requests per changed record in an incremental run (a lookup and a PATCH each),
 * apart from the resource metadata every run reads once.
 */
const DATAVERSE_METADATA = /EntityDefinitions/;
const CAMPAIGN_METADATA = /campaign:(metadata|filters)/;

async function incrementalRun(
	sandbox: SandboxProcess,
	env: Engine,
	wf: TestWorkflow,
	count: number,
) {
	const changes = Math.max(1, Math.round(count / 100));
	const contacts = (await sandbox.dataverseAdmin.dump('contact')).records.slice(0, changes);
	await sandbox.dataverseAdmin.setLatency(0);
	await sandbox.campaignAdmin.setLatency(0);
	for (const contact of contacts) {
		await sandbox.dataverseAdmin.editRecord('contact', String(contact.contactid), {
			firstname: `${String(contact.firstname ?? '')} (changed)`,
		});
	}
	await sandbox.dataverseAdmin.resetCounters();
	await sandbox.campaignAdmin.resetCounters();
	const { summary } = await runTemplate(env, { pageSize: 5000, maxRecordsPerRun: 5000 }, wf);
	if (summary.updated !== changes) {
		throw new Error(`incremental run updated ${summary.updated} of ${changes} changed contacts`);
	}
	const campaign = await sandbox.campaignAdmin.counters();
	const all = sumCounters(campaign, /^(?!POST ims:token)/);
	const metadata = sumCounters(campaign, CAMPAIGN_METADATA);
	return {
		changes,
		runs: summary.runs,
		campaignRequests: all,
		campaignMetadataRequests: metadata,
		dataverseMetadataRequests: sumCounters(
			await sandbox.dataverseAdmin.counters(),
			DATAVERSE_METADATA,
		),
		campaignRequestsPerChange: all / changes,
		campaignRecordRequestsPerChange: (all - metadata) / changes,
	};
}

/** Metadata requests of each run, from the counters before and after it. */
function metadataPerRun(sandbox: SandboxProcess) {
	const runs: Array<{ dataverse: number; campaign: number }> = [];
	let before = { dataverse: 0, campaign: 0 };
	return {
		runs,
		async afterRun() {
			const c = await counts(sandbox);
			const now = {
				dataverse: sumCounters(c.dataverse, DATAVERSE_METADATA),
				campaign: sumCounters(c.campaign, CAMPAIGN_METADATA),
			};
			runs.push({
				dataverse: now.dataverse - before.dataverse,
				campaign: now.campaign - before.campaign,
			});
			before = now;
		},
	};
}

/** Polls that find nothing, as an active workflow's trigger makes every minute on a quiet table. */
async function idlePolls(sandbox: SandboxProcess, wf: TestWorkflow, polls = 5) {
	await sandbox.dataverseAdmin.resetCounters();
	await sandbox.campaignAdmin.resetCounters();
	for (let i = 0; i < polls; i++) {
		if (await wf.poll(CONTACTS_TRIGGER)) throw new Error('an idle poll found changes');
	}
	const c = await counts(sandbox);
	return {
		polls,
		dataverseRequestsPerPoll: sumCounters(c.dataverse, /^(?!POST token)/) / polls,
		campaignRequestsPerPoll: sumCounters(c.campaign, /^(?!POST ims:token)/) / polls,
	};
}

export async function counts(sandbox: SandboxProcess): Promise<Counts> {
	return {
		dataverse: await sandbox.dataverseAdmin.counters(),
		campaign: await sandbox.campaignAdmin.counters(),
	};
}

export async function run(params: {
	variant:
		'ours' | 'oursUnique' | 'handBuilt' | 'ceiling' | 'ceilingCreate' | 'ceilingLookupCreate';
	count: number;
	latencyMs: number;
	/** Profile the load or the ceiling (CPU), to compare where their time goes; its speed is not a figure. */
	profile?: boolean;
}): Promise<IDataObject> {
	const sandbox = await startSandboxProcess();
	try {
		const requests = CEILING_REQUESTS[params.variant];
		if (requests) {
			// The lookups find every profile; the creates start from an empty Campaign, as the loads do.
			for (let i = 0; requests === 'lookup' && i < params.count; i += 10_000) {
				const profiles = Array.from({ length: Math.min(10_000, params.count - i) }, (_, k) =>
					ceilingProfile(i + k),
				);
				await sandbox.campaignAdmin.insert('profile', profiles);
			}
			await sandbox.campaignAdmin.setLatency(params.latencyMs);
			await sandbox.campaignAdmin.resetCounters();
			const ceiling = prepareCeiling(sandbox, params.count, requests);
			let profile: ProfileSummary | undefined;
			const cpu = process.cpuUsage();
			const { seconds } = await timed(async () => {
				if (params.profile) profile = (await profiled(ceiling)).profile;
				else await ceiling();
			});
			const cpuMicrosPerRecord = cpuMicrosSince(cpu) / params.count;
			const campaign = sumCounters(await sandbox.campaignAdmin.counters(), /^(?!POST ims:token)/);
			return {
				variant: params.variant,
				records: params.count,
				latencyMs: params.latencyMs,
				requests,
				concurrency: CEILING_CONCURRENCY,
				seconds,
				recordsPerSecond: params.count / seconds,
				cpuMicrosPerRecord,
				requestsPerSecond: campaign / seconds,
				campaignRequestsPerRecord: campaign / params.count,
				campaignRequests: campaign,
				...(profile ? { profile: profile as unknown as IDataObject } : {}),
				peakRssBytes: peakRss(),
			};
		}
		await generateContacts(sandbox.dataverseAdmin, params.count, 21);
		await sandbox.dataverseAdmin.setLatency(params.latencyMs);
		await sandbox.campaignAdmin.setLatency(params.latencyMs);
		await sandbox.dataverseAdmin.resetCounters();
		await sandbox.campaignAdmin.resetCounters();
		const env = engine(sandbox, params.variant === 'handBuilt');
		const pageSize = 5000;
		const rssBefore = peakRss();
		let detail: IDataObject;
		// The load's workflow, whose trigger state the incremental run continues from.
		let loadedWorkflow: TestWorkflow | undefined;
		const metadata = metadataPerRun(sandbox);
		const load = async () => {
			if (params.variant === 'ours' || params.variant === 'oursUnique') {
				// The template's settings, except 5,000 rows per Dataverse page (its maximum).
				const loaded = await runTemplate(env, {
					pageSize,
					maxRecordsPerRun: 5000,
					keyUnique: params.variant === 'oursUnique',
					afterRun: metadata.afterRun,
				});
				loadedWorkflow = loaded.wf;
				detail = { ...loaded.summary, time: loaded.time };
			} else {
				const wf = env.workflow(handBuiltWorkflow(sandbox, pageSize));
				const result = await wf.run('Start', [[{ json: {} }]]);
				if (result.error) throw result.error;
				detail = {
					updated: result.output('Update Profile').length,
					created: result.output('Create Profile').length,
				};
			}
		};
		let profile: ProfileSummary | undefined;
		const cpu = process.cpuUsage();
		const { seconds } = await timed(async () => {
			if (params.profile) profile = (await profiled(load)).profile;
			else await load();
		});
		const cpuMicrosPerRecord = cpuMicrosSince(cpu) / params.count;
		const profiles = (await sandbox.campaignAdmin.dump('profile')).records.length;
		if (profiles !== params.count) {
			throw new Error(
				`${params.variant}: Campaign holds ${profiles} profiles, expected ${params.count}`,
			);
		}
		const c = await counts(sandbox);
		// Beside the profile: what Campaign Upsert's own code costs per record, apart from the helper.
		const ownCode = params.profile ? await measureOwnCode(sandbox.campaign) : undefined;
		const incremental =
			loadedWorkflow && (await incrementalRun(sandbox, env, loadedWorkflow, params.count));
		const idle = loadedWorkflow && (await idlePolls(sandbox, loadedWorkflow));
		return {
			variant: params.variant,
			records: params.count,
			latencyMs: params.latencyMs,
			seconds,
			recordsPerSecond: params.count / seconds,
			cpuMicrosPerRecord,
			...requestFigures(c, params.count, Math.ceil(params.count / pageSize)),
			counters: c as unknown as IDataObject,
			detail: detail!,
			...(incremental ? { incremental } : {}),
			...(idle ? { idle, metadataPerRun: metadata.runs } : {}),
			...(profile ? { profile: profile as unknown as IDataObject } : {}),
			...(ownCode ? { ownCode: ownCode as unknown as IDataObject } : {}),
			peakRssBytes: peakRss(),
			rssBeforeBytes: rssBefore,
			sandboxPeakRssBytes: sandbox.peakRss(),
		};
	} finally {
		await sandbox.close();
	}
}
