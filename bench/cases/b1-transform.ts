/**
 * B1 Transform: contacts through Record Filter → Field Replacement → Apply Field Mapping, versus
 * n8n's built-in Filter → Edit Fields (replacement by expression) → Edit Fields (mapping), in the
 * same engine, and the pure lib/sync path alone. Outputs are compared before anything is timed.
 */
import type { IDataObject, INode, INodeExecutionData } from 'n8n-workflow';

import type { SyncRecord } from '../../lib/sync/envelope';
import { RUN_KEY } from '../../lib/flows/run-report';
import { ACTIVE_ONLY, templateLibChain, templateNode } from '../lib-chain';
import type { TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';
import {
	engine,
	generateContacts,
	peakRss,
	startSandboxProcess,
	timed,
	type SandboxUrls,
} from '../support';

const CAMPAIGN_FIELDS = ['externalId', 'firstName', 'lastName', 'email', 'birthDate', 'gender'];

/** Our chain, with the template's replacement and mapping settings and an "active only" filter. */
function oursWorkflow(): WorkflowJson {
	const trigger = templateNode('Contacts: Dynamics 365 Trigger');
	const filter = templateNode('Contacts: Record Filter');
	filter.parameters = {
		...filter.parameters,
		rules: { rule: [{ ...ACTIVE_ONLY }] },
	};
	const replacement = templateNode('Contacts: Field Replacement');
	const mapping = templateNode('Contacts: Apply Field Mapping');
	const link = (to: string) => ({ main: [[{ node: to, type: 'main' as const, index: 0 }]] });
	return {
		name: 'B1 ours',
		nodes: [trigger, filter, replacement, mapping],
		connections: {
			[trigger.name]: link(filter.name),
			[filter.name]: link(replacement.name),
			[replacement.name]: link(mapping.name),
		},
	};
}

/** The same transformation built from n8n's own nodes, as a user would build it. */
export function peerWorkflow(): WorkflowJson {
	const at = (i: number): [number, number] => [i * 220, 0];
	const nodes: INode[] = [
		{
			id: 'p0',
			// Where the records come in (the trigger's place in our chain); passes items through.
			name: 'Start',
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: at(0),
			parameters: {},
		},
		{
			id: 'p1',
			name: 'Filter',
			type: 'n8n-nodes-base.filter',
			typeVersion: 2.2,
			position: at(1),
			parameters: {
				conditions: {
					options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
					conditions: [
						{
							id: 'c1',
							leftValue: '={{ $json.statecode }}',
							rightValue: 0,
							operator: { type: 'number', operation: 'equals' },
						},
					],
					combinator: 'and',
				},
				options: {},
			},
		},
		{
			id: 'p2',
			name: 'Replace Gender',
			type: 'n8n-nodes-base.set',
			typeVersion: 3.4,
			position: at(2),
			parameters: {
				mode: 'manual',
				includeOtherFields: true,
				assignments: {
					assignments: [
						{
							id: 'a1',
							name: 'gendercode',
							value:
								"={{ $json.gendercode === 1 ? 'male' : $json.gendercode === 2 ? 'female' : $json.gendercode }}",
							type: 'any',
						},
					],
				},
				options: {},
			},
		},
		{
			id: 'p3',
			name: 'Map Fields',
			type: 'n8n-nodes-base.set',
			typeVersion: 3.4,
			position: at(3),
			parameters: {
				mode: 'manual',
				includeOtherFields: false,
				assignments: {
					assignments: [
						['externalId', '={{ $json.contactid }}'],
						['firstName', '={{ $json.firstname ?? null }}'],
						['lastName', '={{ $json.lastname ?? null }}'],
						['email', '={{ $json.emailaddress1 ?? null }}'],
						['birthDate', '={{ $json.birthdate ?? null }}'],
						['gender', '={{ $json.gendercode ?? null }}'],
					].map(([name, value], i) => ({ id: `m${i}`, name, value, type: 'any' })),
				},
				options: {},
			},
		},
	];
	const link = (to: string) => ({ main: [[{ node: to, type: 'main' as const, index: 0 }]] });
	return {
		name: 'B1 built-in',
		nodes,
		connections: {
			Start: link('Filter'),
			Filter: link('Replace Gender'),
			'Replace Gender': link('Map Fields'),
		},
	};
}

function project(record: Record<string, unknown>): string {
	return JSON.stringify(CAMPAIGN_FIELDS.map((f) => record[f] ?? null));
}

async function runChain(
	wf: TestWorkflow,
	start: string,
	last: string,
	input: INodeExecutionData[],
) {
	const result = await wf.run(start, [input]);
	if (result.error) throw result.error;
	return result.output(last).filter((r) => !(RUN_KEY in r));
}

export async function run(params: { count: number; repeat: number }): Promise<IDataObject> {
	const sandbox = await startSandboxProcess();
	try {
		await generateContacts(sandbox.dataverseAdmin, params.count, 11);
		const urls: SandboxUrls = sandbox;
		const env = engine(urls, true);
		const ours = env.workflow(oursWorkflow());
		ours.setParameters('Contacts: Dynamics 365 Trigger', {
			options: { pageSize: 5000, maxRecordsPerRun: params.count },
		});
		const polled = await ours.poll('Contacts: Dynamics 365 Trigger');
		const input = polled![0];
		const records = input.filter((i) => !(RUN_KEY in i.json));
		if (records.length !== params.count) {
			throw new Error(`trigger emitted ${records.length} records, expected ${params.count}`);
		}
		const peer = env.workflow(peerWorkflow());
		// The peer reads the same records (n8n items are shared by reference between nodes).
		const peerInput = records.map((i) => ({ json: i.json }));

		// The pure lib/sync path: the same settings compiled once, applied to the same records.
		const libChain = await templateLibChain(urls, [{ ...ACTIVE_ONLY }]);
		const libInput = records.map((i) => i.json as unknown as SyncRecord);

		// Timed, interleaved, best of `repeat` (the machine is shared: the best run is the least
		// disturbed). The outputs of the first runs are compared once the timing is over: the same
		// records, the same values, the same order (a run kept aside for that alone would take as
		// long as the built-in path's timed run).
		const times = { ours: [] as number[], builtIn: [] as number[], lib: [] as number[] };
		let oursOut: Array<Record<string, unknown>> = [];
		let peerOut: Array<Record<string, unknown>> = [];
		let libOut: Array<Record<string, unknown>> = [];
		for (let r = 0; r < params.repeat; r++) {
			const ours1 = await timed(() =>
				runChain(ours, 'Contacts: Dynamics 365 Trigger', 'Contacts: Apply Field Mapping', input),
			);
			const peer1 = await timed(() => runChain(peer, 'Start', 'Map Fields', peerInput));
			const lib1 = await timed(async () => libChain(libInput));
			times.ours.push(ours1.seconds);
			times.builtIn.push(peer1.seconds);
			times.lib.push(lib1.seconds);
			if (r === 0) {
				oursOut = ours1.value;
				peerOut = peer1.value;
				libOut = lib1.value;
			}
		}
		if (oursOut.length !== peerOut.length) {
			throw new Error(
				`outputs differ in length: ours ${oursOut.length}, built-in ${peerOut.length}`,
			);
		}
		for (let i = 0; i < oursOut.length; i++) {
			if (project(oursOut[i]) !== project(peerOut[i])) {
				throw new Error(
					`outputs differ at item ${i}: ours ${project(oursOut[i])}, built-in ${project(peerOut[i])}`,
				);
			}
		}
		if (
			libOut.length !== oursOut.length ||
			libOut.some((r, i) => project(r) !== project(oursOut[i]))
		) {
			throw new Error('the lib/sync path and the nodes give different outputs');
		}
		const best = (xs: number[]) => Math.min(...xs);
		return {
			records: params.count,
			passedFilter: oursOut.length,
			outputsEqual: true,
			seconds: { ours: best(times.ours), builtIn: best(times.builtIn), lib: best(times.lib) },
			allSeconds: times,
			recordsPerSecond: {
				ours: params.count / best(times.ours),
				builtIn: params.count / best(times.builtIn),
				lib: params.count / best(times.lib),
			},
			ratioOursToBuiltIn: best(times.builtIn) / best(times.ours),
			ratioLibToBuiltIn: best(times.builtIn) / best(times.lib),
			sample: { ours: oursOut[0], builtIn: peerOut[0] },
			peakRssBytes: peakRss(),
		};
	} finally {
		await sandbox.close();
	}
}
