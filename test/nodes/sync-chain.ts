/**
 * Builds one Dynamics → Campaign chain (Trigger → Record Filter → Field Replacement → Apply Field
 * Mapping → Campaign Upsert) as workflow JSON, with the template's defaults, so each node test
 * states only the settings it is about.
 */
import type { INode, INodeParameters } from 'n8n-workflow';

import type { ExecutionResult, TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';
import { chain, node } from './fixture';

export interface FieldRow {
	dynamicsField: string;
	campaignField: string;
	applyUpdates?: boolean;
	/** For a Campaign link: the linked resource's field holding the looked-up Dynamics id. */
	linkedRecordKey?: string;
}

export interface ChainSettings {
	/** Prefix of the node names, to put several chains in one workflow. */
	prefix?: string;
	table?: string;
	/** The trigger's Columns setting (default: empty, every column). */
	columns?: string[];
	filter?: INodeParameters;
	replacements?: INodeParameters[];
	campaignResource?: string;
	campaignKey?: string;
	/** Apply Field Mapping's Campaign Key Filter ('' = by name) and Campaign Refuses Duplicate Keys. */
	campaignKeyFilter?: string;
	campaignKeyUnique?: boolean;
	dynamicsKey?: string;
	fields?: FieldRow[];
	applyUpdatesAll?: 'perField' | 'allOn' | 'allOff';
	advanced?: INodeParameters;
	concurrency?: number;
	/** "On Error: Continue (using error output)" on Campaign Upsert. */
	errorOutput?: boolean;
	/**
	 * Tables and the Campaign table as the editor stores a choice from the resource locators' lists
	 * (default: plain names, as workflows written before the locators hold them).
	 */
	fromLists?: boolean;
}

/** A resource locator's value as the editor stores a choice from its list. */
export function fromList(value: string): INodeParameters {
	return { __rl: true, mode: 'list', value, cachedResultName: value };
}

export const CONTACT_FIELDS: FieldRow[] = [
	{ dynamicsField: 'firstname', campaignField: 'firstName' },
	{ dynamicsField: 'lastname', campaignField: 'lastName' },
	{ dynamicsField: 'emailaddress1', campaignField: 'email' },
];

export interface ChainNames {
	trigger: string;
	filter: string;
	replace: string;
	mapping: string;
	upsert: string;
}

export function chainNames(prefix = ''): ChainNames {
	return {
		trigger: `${prefix}Trigger`,
		filter: `${prefix}Record Filter`,
		replace: `${prefix}Field Replacement`,
		mapping: `${prefix}Apply Field Mapping`,
		upsert: `${prefix}Campaign Upsert`,
	};
}

export function chainNodes(s: ChainSettings = {}): { nodes: INode[]; names: ChainNames } {
	const names = chainNames(s.prefix);
	const locator = (value: string) => (s.fromLists ? fromList(value) : value);
	const table = locator(s.table ?? 'contact');
	const nodes = [
		node('dynamicsTrigger', names.trigger, {
			pollTimes: { item: [{ mode: 'everyMinute' }] },
			table,
			columns: s.columns ?? [],
			changeDetection: 'auto',
			replayData: '',
			options: { pageSize: 500, maxRecordsPerRun: 5000 },
		}),
		node('recordFilter', names.filter, {
			table,
			rules: {},
			combinator: 'and',
			deleteFilteredOut: false,
			...(s.filter ?? {}),
		}),
		node('fieldReplacement', names.replace, {
			table,
			replacements: s.replacements ? { replacement: s.replacements } : {},
		}),
		node('applyFieldMapping', names.mapping, {
			table,
			campaignResource: locator(s.campaignResource ?? 'profile'),
			dynamicsKey: s.dynamicsKey ?? '',
			campaignKey: s.campaignKey ?? 'externalId',
			campaignKeyFilter: s.campaignKeyFilter ?? '',
			campaignKeyUnique: s.campaignKeyUnique ?? false,
			fieldMappings: {
				mapping: (s.fields ?? CONTACT_FIELDS).map((f) => ({ applyUpdates: true, ...f })),
			} as unknown as INodeParameters,
			applyUpdatesAll: s.applyUpdatesAll ?? 'perField',
			advanced: s.advanced ?? {},
		}),
		node(
			'campaignUpsert',
			names.upsert,
			{ concurrency: s.concurrency ?? 5 },
			s.errorOutput ? { onError: 'continueErrorOutput' } : {},
		),
	];
	return { nodes, names };
}

export function syncWorkflow(s: ChainSettings = {}): { json: WorkflowJson; names: ChainNames } {
	const { nodes, names } = chainNodes(s);
	return {
		json: {
			name: 'sync',
			nodes,
			connections: chain(names.trigger, names.filter, names.replace, names.mapping, names.upsert),
		},
		names,
	};
}

/** Polls and runs until the trigger finds nothing more; every run must succeed. */
export async function runUntilQuiet(
	wf: TestWorkflow,
	trigger: string,
	max = 10,
): Promise<ExecutionResult[]> {
	const runs: ExecutionResult[] = [];
	for (let i = 0; i < max; i++) {
		const run = await wf.pollAndRun(trigger);
		if (!run) return runs;
		if (run.error) throw run.error;
		runs.push(run);
	}
	throw new Error(`${trigger} still had changes after ${max} runs`);
}

/** The result items of Campaign Upsert (records only, without the summary). */
export function results(run: ExecutionResult, upsert: string, output = 0) {
	return run.output(upsert, output).filter((r) => !('_summary' in r));
}

export function summaryOf(run: ExecutionResult, upsert: string): Record<string, unknown> {
	const last = run.output(upsert).at(-1);
	return (last?._summary ?? {}) as Record<string, unknown>;
}

/** Campaign writes (create, update, delete) counted by the sandbox. */
export function campaignWrites(counters: Record<string, number>): number {
	return (
		(counters['POST campaign:create'] ?? 0) +
		(counters['PATCH campaign:record'] ?? 0) +
		(counters['DELETE campaign:record'] ?? 0)
	);
}
