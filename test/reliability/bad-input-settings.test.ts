/**
 * Bad input, continued: bad settings of every node and malformed webhook payloads. A bad setting
 * is reported before any write, naming the setting and what to do; a malformed payload fails
 * alone (error output, with the reason) and the good items of the same run are written.
 */
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { EmailEventsExport } from '../../nodes/EmailEventsExport/EmailEventsExport.node';
import { OptInOutSync } from '../../nodes/OptInOutSync/OptInOutSync.node';
import { chain, node, startNodeFixture, type NodeFixture } from '../nodes/fixture';
import { campaignWrites, syncWorkflow, type ChainSettings } from '../nodes/sync-chain';
import type { ExecutionResult } from '../../sandbox/harness/engine';

/** Dataverse writes counted by the sandbox (token requests are not writes). */
function dataverseWrites(counters: Record<string, number>): number {
	return Object.entries(counters)
		.filter(([key]) => /^(POST|PATCH|PUT|DELETE)\b/.test(key) && !/token/i.test(key))
		.reduce((sum, [, n]) => sum + n, 0);
}

/** The first node error of a run. */
function nodeError(run: ExecutionResult): string {
	const fromNodes = Object.values(run.nodes)
		.map((n) => n.error?.message)
		.find((m): m is string => !!m);
	return fromNodes ?? run.error?.message ?? '';
}

interface BadSetting {
	name: string;
	/** Runs the workflow with the bad setting; returns the message the user gets. */
	run: (fx: NodeFixture) => Promise<string>;
	message: RegExp;
	/** Not refused: the run must then write the record as usual. */
	accepted?: boolean;
}

const rule = (field: string, comparison: string, value = ''): INodeParameters => ({
	field,
	comparison,
	value,
});

/** Runs one Dynamics → Campaign chain once; the message of the node that stopped it. */
async function chainRun(fx: NodeFixture, settings: ChainSettings): Promise<string> {
	const { json, names } = syncWorkflow(settings);
	const wf = fx.workflow(json);
	try {
		const run = await wf.pollAndRun(names.trigger);
		return run ? nodeError(run) : '';
	} catch (error) {
		// a bad trigger setting stops the poll itself
		return (error as Error).message;
	}
}

async function exportRun(fx: NodeFixture, parameters: INodeParameters): Promise<string> {
	const wf = fx.workflow({
		nodes: [
			node('n8n-nodes-base.manualTrigger', 'Start'),
			node('emailEventsExport', 'Export', parameters, { onError: 'continueErrorOutput' }),
		],
		connections: chain('Start', 'Export'),
	});
	return nodeError(await wf.run('Start'));
}

async function optOutRun(fx: NodeFixture, mapping: INodeParameters[]): Promise<string> {
	const wf = fx.workflow({
		nodes: [
			node('n8n-nodes-base.scheduleTrigger', 'Schedule', {
				rule: { interval: [{ field: 'minutes', minutesInterval: 5 }] },
			}),
			node('optInOutSync', 'Opt-In/Out Sync', {
				direction: 'bidirectional',
				mappings: { mapping },
			}),
		],
		connections: chain('Schedule', 'Opt-In/Out Sync'),
	});
	return nodeError(await wf.run('Schedule'));
}

/** The chain with the trigger's table, change detection and options set. */
function trigger(options: IDataObject, table = 'contact', changeDetection = 'auto') {
	return async (fx: NodeFixture): Promise<string> => {
		const { json, names } = syncWorkflow({});
		const t = json.nodes.find((n) => n.name === names.trigger)!;
		t.parameters = { ...t.parameters, table, changeDetection, options } as INodeParameters;
		for (const n of json.nodes) if ('table' in n.parameters) n.parameters.table = table;
		try {
			const run = await fx.workflow(json).pollAndRun(names.trigger);
			return run ? nodeError(run) : '';
		} catch (error) {
			return (error as Error).message;
		}
	};
}

const BAD_SETTINGS: BadSetting[] = [
	{
		name: 'Record Filter: unknown column',
		run: (fx) =>
			chainRun(fx, { filter: { rules: { rule: [rule('nosuchcolumn', 'equals', 'x')] } } }),
		message: /nosuchcolumn/,
	},
	{
		name: 'Record Filter: a value that cannot be compared with the column',
		run: (fx) =>
			chainRun(fx, { filter: { rules: { rule: [rule('creditlimit', 'greater', 'lots')] } } }),
		message: /creditlimit.*"lots".*Enter a number/,
	},
	{
		name: 'Record Filter: a date that is not a date',
		run: (fx) =>
			chainRun(fx, { filter: { rules: { rule: [rule('birthdate', 'less', 'last week')] } } }),
		message: /birthdate.*"last week".*Enter an ISO date/,
	},
	{
		name: 'Record Filter: empty combinator',
		run: (fx) =>
			chainRun(fx, {
				filter: { rules: { rule: [rule('firstname', 'isNotEmpty')] }, combinator: '' },
			}),
		message: /"and" or "or"/,
	},
	{
		name: 'Field Replacement: unknown field',
		run: (fx) =>
			chainRun(fx, {
				replacements: [
					{
						field: 'nosuchfield',
						existingValue: { __rl: true, mode: 'id', value: 'a' },
						newValue: 'b',
					},
				],
			}),
		message: /nosuchfield/,
	},
	{
		name: 'Field Replacement: the same value replaced twice',
		run: (fx) =>
			chainRun(fx, {
				replacements: [1, 2].map((n) => ({
					field: 'gendercode',
					existingValue: { __rl: true, mode: 'list', value: '1' },
					newValue: `male${n}`,
				})),
			}),
		message: /rows 1 and 2 both replace "1" in "gendercode"\. Keep one/,
	},
	{
		name: 'Apply Field Mapping: unknown Dynamics column',
		run: (fx) =>
			chainRun(fx, { fields: [{ dynamicsField: 'nosuchcolumn', campaignField: 'firstName' }] }),
		message: /"nosuchcolumn" is not a column of Dynamics table/,
	},
	{
		name: 'Apply Field Mapping: unknown Campaign field',
		run: (fx) =>
			chainRun(fx, { fields: [{ dynamicsField: 'firstname', campaignField: 'nickName' }] }),
		message: /nickName/,
	},
	{
		name: 'Apply Field Mapping: two Dynamics fields into one Campaign field',
		run: (fx) =>
			chainRun(fx, {
				fields: [
					{ dynamicsField: 'firstname', campaignField: 'firstName' },
					{ dynamicsField: 'lastname', campaignField: 'firstName' },
				],
			}),
		message: /firstName/,
	},
	{
		name: 'Apply Field Mapping: Campaign key without a filter',
		run: async (fx) => {
			await fx.campaign.defineResource({
				name: 'cusNoFilter',
				fields: [
					{ name: 'crmId', type: 'string', unique: true },
					{ name: 'name', type: 'string' },
				],
			});
			return chainRun(fx, {
				campaignResource: 'cusNoFilter',
				campaignKey: 'crmId',
				fields: [{ dynamicsField: 'firstname', campaignField: 'name' }],
			});
		},
		message: /cusNoFilter\.crmId" has no filter.*choose another Campaign primary key/s,
	},
	{
		name: 'Apply Field Mapping: Campaign key filter that tests another field',
		run: (fx) => chainRun(fx, { campaignKeyFilter: 'byEmail' }),
		message: /filter "byEmail" does not find "profile" records by externalId/,
	},
	{
		name: 'Apply Field Mapping: impossible conversion (money → boolean)',
		run: (fx) =>
			chainRun(fx, { fields: [{ dynamicsField: 'creditlimit', campaignField: 'blackListEmail' }] }),
		message:
			/"creditlimit" \(Money\) cannot be converted to Campaign field "blackListEmail" \(boolean\)/,
	},
	{
		name: 'Dynamics Trigger: empty table',
		run: trigger({ pageSize: 500, maxRecordsPerRun: 5000 }, ''),
		message: /[Tt]able/,
	},
	{
		name: 'Dynamics Trigger: unknown table',
		run: trigger({ pageSize: 500, maxRecordsPerRun: 5000 }, 'nosuchtable'),
		message: /nosuchtable/,
	},
	{
		name: 'Dynamics Trigger: change tracking on a table without it',
		run: trigger({ pageSize: 500, maxRecordsPerRun: 5000 }, 'new_region', 'changeTracking'),
		message: /new_region.*[Cc]hange [Tt]racking/,
	},
	{
		name: 'Dynamics Trigger: page size 0',
		run: trigger({ pageSize: 0, maxRecordsPerRun: 5000 }),
		message: /Options › Page Size is 0: it must be a whole number from 1 to 5,000/,
	},
	{
		name: 'Dynamics Trigger: page size 6000',
		run: trigger({ pageSize: 6000, maxRecordsPerRun: 5000 }),
		message: /Options › Page Size is 6000: it must be a whole number from 1 to 5,000/,
	},
	{
		// It used to be clamped to 1 silently; every number setting is now refused alike.
		name: 'Campaign Upsert: concurrency 0',
		run: (fx) => chainRun(fx, { concurrency: 0 }),
		message: /Concurrency is 0: it must be a whole number from 1 to 200/,
	},
	{
		name: 'Email Events Export: batch size 0',
		run: (fx) => exportRun(fx, { options: { batchSize: 0 } }),
		message: /Options › Batch Size is 0: it must be a whole number from 1 to 1,000/,
	},
	{
		name: 'Email Events Export: batch size 5000',
		run: (fx) => exportRun(fx, { options: { batchSize: 5000 } }),
		message: /Options › Batch Size is 5000: it must be a whole number from 1 to 1,000/,
	},
	{
		name: 'Email Events Export: activity table without the event-id alternate key',
		run: (fx) => exportRun(fx, { sendTable: 'task' }),
		message: /table "task" has no alternate key on the column "adobe_eventid"/,
	},
	{
		name: 'Email Events Export: unknown activity column',
		run: (fx) => exportRun(fx, { activityColumns: { campaignName: 'adobe_nosuchcolumn' } }),
		message: /Campaign Name Column: the table "adobe_emailsend" has no column "adobe_nosuchcolumn"/,
	},
	{
		name: 'Opt-In/Out Sync: a non-boolean Dynamics field',
		run: (fx) => optOutRun(fx, [{ dynamicsField: 'firstname', campaignField: 'denyListEmail' }]),
		message:
			/need fixing: Mappings › row 1: contact column "firstname" is of type String; choose a boolean/,
	},
	{
		name: 'Opt-In/Out Sync: a Campaign field outside the fixed list',
		run: (fx) => optOutRun(fx, [{ dynamicsField: 'donotemail', campaignField: 'firstName' }]),
		message:
			/need fixing: Mappings › row 1: "firstName" is not a Campaign opt-out field\. Use one of/,
	},
	{
		name: 'Opt-In/Out Sync: the same field mapped twice',
		run: (fx) =>
			optOutRun(fx, [
				{ dynamicsField: 'donotemail', campaignField: 'denyListEmail' },
				{ dynamicsField: 'donotemail', campaignField: 'denyListPhone' },
			]),
		message: /row 2: Dynamics field "donotemail" is already mapped in row 1\. Map it once/,
	},
];

describe('Bad input catalogue, continued', () => {
	let fx: NodeFixture;
	let contactId: string;
	let profilePKey: string;
	const caught: Array<{ name: string; message: string }> = [];
	beforeAll(async () => {
		fx = await startNodeFixture(
			{ dataverse: { demoRecords: 0 } },
			{ emailEventsExport: new EmailEventsExport(), optInOutSync: new OptInOutSync() },
		);
	});
	afterAll(async () => {
		process.stdout.write(`${caught.map((c) => `${c.name}: ${c.message}`).join('\n')}\n`);
		await fx.close();
	});
	beforeEach(async () => {
		await fx.dataverse.reset({ demoRecords: 0 });
		await fx.campaign.reset();
		[contactId] = await fx.dataverse.seed('contact', [
			{ firstname: 'Ana', lastname: 'Lima', birthdate: '1990-01-01', donotemail: true },
		]);
		[{ PKey: profilePKey }] = await fx.campaign.insert('profile', [
			{ externalId: contactId, email: 'ana@example.com', blackListPhone: true },
		]);
		await fx.campaign.simulateDelivery({ profiles: [profilePKey], seed: 3 });
		await fx.dataverse.resetCounters();
		await fx.campaign.resetCounters();
	});

	describe('bad settings: reported before any write, naming the setting and what to do', () => {
		it.each(BAD_SETTINGS.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
			const message = await bad.run(fx);
			caught.push({ name: bad.name, message });
			expect(message).toMatch(bad.message);
			if (bad.accepted) {
				const profiles = (await fx.campaign.dump('profile')).records;
				expect(profiles.find((p) => p.externalId === contactId)?.firstName).toBe('Ana');
				return;
			}
			expect(message.length).toBeLessThan(600);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
			expect(dataverseWrites(await fx.dataverse.counters())).toBe(0);
		});
	});

	describe('malformed webhook payloads (Email Events Export, Input Items): that item fails, the others are written', () => {
		const good = (eventId: string): IDataObject => ({
			eventId,
			type: 'open',
			profileExternalId: '',
			campaignName: 'Spring',
			deliveryName: 'Spring 1',
			date: '2026-03-02T08:00:00.000Z',
		});
		const PAYLOADS: Array<{ name: string; payload: () => unknown; message: RegExp }> = [
			{
				name: 'event without eventId',
				payload: () => ({ ...good(''), eventId: undefined }),
				message: /eventId/,
			},
			{
				name: 'unknown event type',
				payload: () => ({ ...good('HOOK-T'), type: 'explode' }),
				message: /"type" is "explode"; expected one of/,
			},
			{
				name: 'date that is not a date',
				payload: () => ({ ...good('HOOK-D'), date: 'yesterday' }),
				message: /"date" is "yesterday", not an ISO date-time/,
			},
			{
				name: 'profile without externalId',
				payload: () => ({ ...good('HOOK-P'), profileExternalId: undefined, profile: {} }),
				message: /HOOK-P.*profileExternalId.*profile.*href/,
			},
			{
				name: 'array instead of an object',
				payload: () => ({ events: [good('HOOK-A')] }),
				message: /eventId|event/,
			},
			{
				name: 'extra nesting ({ body: event })',
				payload: () => ({ body: good('HOOK-N') }),
				message: /eventId|event/,
			},
			{
				name: 'over-long event id (5,000 characters)',
				payload: () => good('E'.repeat(5000)),
				message: /"eventId" is "EEEE.*\.\.\." \(5000 characters\); at most 100 are allowed/,
			},
		];

		it.each(PAYLOADS.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
			const ok = { ...good('HOOK-OK'), profileExternalId: contactId };
			const payload = bad.payload() as IDataObject;
			if (typeof payload.profileExternalId === 'string' && !payload.profileExternalId) {
				payload.profileExternalId = contactId;
			}
			const wf = fx.workflow({
				nodes: [
					node('n8n-nodes-base.manualTrigger', 'Start'),
					node(
						'emailEventsExport',
						'Export',
						{ source: 'input' },
						{ onError: 'continueErrorOutput' },
					),
				],
				connections: chain('Start', 'Export'),
			});
			const items: INodeExecutionData[][] = [[{ json: payload }, { json: ok }]];
			const result = await wf.run('Export', items);
			const errors = result.output('Export', 1);
			caught.push({
				name: `payload: ${bad.name}`,
				message: String(errors[0]?.error ?? nodeError(result)),
			});
			expect(result.status).not.toBe('crashed');
			expect(errors).toHaveLength(1);
			expect(String(errors[0].error)).toMatch(bad.message);
			expect(String(errors[0].error).length).toBeLessThan(400);
			const opens = (await fx.dataverse.dump('adobe_emailopen')).records;
			expect(opens.map((o) => o.adobe_eventid)).toEqual(['HOOK-OK']);
		});
	});
});
