import { readFileSync } from 'fs';
import path from 'path';

import type { IDataObject, INode, INodeParameters } from 'n8n-workflow';

import { EmailEventsExport } from '../../nodes/EmailEventsExport/EmailEventsExport.node';
import { SUMMARY_KEY, type ExportSummary } from '../../nodes/EmailEventsExport/export';
import { EXPORT_STATE_KEY, type ExportState } from '../../nodes/EmailEventsExport/state';
import type { WorkflowJson } from '../support/harness';
import { chain, node, useNodeFixture } from './fixture';

const TABLES = {
	send: 'adobe_emailsend',
	open: 'adobe_emailopen',
	click: 'adobe_emailclick',
	bounce: 'adobe_emailbounce',
} as const;
type EventType = keyof typeof TABLES;
const SWITCH: Record<EventType, string> = {
	send: 'sends',
	open: 'opens',
	click: 'clicks',
	bounce: 'bounces',
};

function split(items: IDataObject[]) {
	const summaries = items.filter((i) => SUMMARY_KEY in i);
	return {
		results: items.filter((i) => !(SUMMARY_KEY in i)),
		summary: summaries[0]?.[SUMMARY_KEY] as unknown as ExportSummary,
	};
}

describe('Email Events Export', () => {
	const fx = useNodeFixture(
		{ dataverse: { demoRecords: 0 } },
		{ emailEventsExport: new EmailEventsExport() },
		async (f) => {
			await f.dataverse.reset({ demoRecords: 0 });
			await f.campaign.reset();
			await f.dataverse.setFaults({});
		},
	);

	/** Dynamics contacts and Campaign profiles whose externalId is the contactid. */
	async function contactsWithProfiles(count: number, seed = 5) {
		const contactIds = await fx.dataverse.generate('contact', count, seed);
		const profiles = await fx.campaign.insert(
			'profile',
			contactIds.map((id, i) => ({ externalId: id, email: `person${i}@example.com` })),
		);
		return { contactIds, pkeys: profiles.map((p) => p.PKey) };
	}

	function exportWorkflow(parameters: INodeParameters = {}, extra: Partial<INode> = {}) {
		return fx.workflow({
			nodes: [
				node('n8n-nodes-base.manualTrigger', 'Start'),
				node('emailEventsExport', 'Export', parameters, {
					onError: 'continueErrorOutput',
					...extra,
				}),
			],
			connections: chain('Start', 'Export'),
		});
	}

	async function runExport(wf: ReturnType<typeof exportWorkflow>) {
		const result = await wf.run('Start');
		return {
			result,
			...split(result.output('Export', 0)),
			errors: result.output('Export', 1),
		};
	}

	async function activities(type: EventType) {
		return (await fx.dataverse.dump(TABLES[type])).records;
	}

	async function campaignEvents() {
		return (await fx.campaign.dump('cusEmailEvent')).records;
	}

	function countByType(events: Array<Record<string, unknown>>) {
		const counts: Record<EventType, number> = { send: 0, open: 0, click: 0, bounce: 0 };
		for (const e of events) counts[e.type as EventType]++;
		return counts;
	}

	it("writes every event as a timeline activity regarding the profile's contact", async () => {
		const { contactIds, pkeys } = await contactsWithProfiles(6);
		await fx.campaign.simulateDelivery({
			profiles: pkeys,
			campaignName: 'Spring sale',
			deliveryName: 'Launch email',
			openRate: 1,
			clickRate: 0.5,
			bounceRate: 0.2,
			seed: 3,
		});
		const events = await campaignEvents();
		const expected = countByType(events);
		expect(expected.click).toBeGreaterThan(0);
		expect(expected.bounce).toBeGreaterThan(0);

		const { summary, results, errors } = await runExport(exportWorkflow());

		expect(errors).toEqual([]);
		expect(summary.eventsRead).toBe(events.length);
		expect(summary.exported).toEqual({ ...expected, total: events.length });
		expect(summary.failed).toBe(0);
		expect(results).toHaveLength(events.length);
		for (const type of Object.keys(TABLES) as EventType[]) {
			expect(await activities(type)).toHaveLength(expected[type]);
		}
		const click = events.find((e) => e.type === 'click')!;
		const [row] = (await activities('click')).filter((r) => r.adobe_eventid === click.eventId);
		expect(row).toMatchObject({
			adobe_campaignname: 'Spring sale',
			adobe_deliveryname: 'Launch email',
			adobe_mirrorpageurl: click.mirrorPageUrl,
			adobe_clickedurl: click.clickedUrl,
			subject: `${String(click.campaignId)} - ${String(click.deliveryId)}`,
		});
		expect(Date.parse(String(row.adobe_eventdate))).toBe(
			Date.parse(String(click.date).replace(' ', 'T')),
		);
		expect(JSON.stringify(row.regardingobjectid)).toContain(String(click.profileExternalId));
		expect(contactIds).toContain(click.profileExternalId);
	});

	describe('Event type switches', () => {
		it.each(Object.keys(TABLES) as EventType[])(
			'exports no %s events when that switch is off, and every other type',
			async (off) => {
				const { pkeys } = await contactsWithProfiles(5);
				await fx.campaign.simulateDelivery({
					profiles: pkeys,
					openRate: 1,
					clickRate: 1,
					bounceRate: 0.4,
					seed: 4,
				});
				const expected = countByType(await campaignEvents());
				expect(expected[off]).toBeGreaterThan(0);

				const { summary } = await runExport(exportWorkflow({ [SWITCH[off]]: false }));

				expect(await activities(off)).toHaveLength(0);
				expect(summary.skipped[off]).toBe(expected[off]);
				expect(summary.exported[off]).toBe(0);
				for (const type of Object.keys(TABLES) as EventType[]) {
					if (type === off) continue;
					expect(await activities(type)).toHaveLength(expected[type]);
					expect(summary.exported[type]).toBe(expected[type]);
				}
			},
		);
	});

	describe('Checkpoint', () => {
		it('reads across page boundaries and runs, never skipping or repeating an event', async () => {
			const { pkeys } = await contactsWithProfiles(8);
			await fx.campaign.simulateDelivery({ profiles: pkeys, openRate: 0.5, seed: 6 });
			const wf = exportWorkflow({ options: { pageSize: 3, maxEventsPerRun: 7, batchSize: 4 } });
			const seen: string[] = [];
			for (let run = 0; run < 6; run++) {
				const { results, summary } = await runExport(wf);
				expect(summary.eventsRead).toBeLessThanOrEqual(7);
				seen.push(...results.map((r) => String(r.eventId)));
				// New events arriving between runs are picked up after the earlier ones.
				if (run === 1) await fx.campaign.simulateDelivery({ profiles: pkeys.slice(0, 3), seed: 7 });
			}
			const all = (await campaignEvents()).map((e) => String(e.eventId));
			expect(seen.sort()).toEqual(all.sort());
			const state = wf.staticData('Export')[EXPORT_STATE_KEY] as unknown as ExportState;
			expect(state).toMatchObject({ version: 1, resource: 'cusEmailEvent' });
			const { summary } = await runExport(wf);
			expect(summary.eventsRead).toBe(0);
		});

		it('does not move when Dynamics 365 fails, so the next run exports the same events', async () => {
			const { pkeys } = await contactsWithProfiles(4);
			await fx.campaign.simulateDelivery({ profiles: pkeys, seed: 8 });
			const wf = exportWorkflow();
			// a 500 is retried (the $batch of upserts is replay-safe): fail every attempt
			const fault = { kind: '500', route: '\\$batch' } as const;
			await fx.dataverse.setFaults({ script: Array.from({ length: 5 }, () => fault) });
			const failed = await runExport(wf);
			expect(failed.result.status).toBe('error');
			expect(String(failed.result.error?.message ?? failed.result.nodes.Export.error)).toMatch(
				/Dynamics 365 answered 500/,
			);
			expect(wf.staticData('Export')[EXPORT_STATE_KEY]).toBeUndefined();

			const { summary } = await runExport(wf);
			expect(summary.exported.send).toBe(4);
			expect(await activities('send')).toHaveLength(4);
		});
	});

	describe('Idempotence', () => {
		it('never creates a second activity for one event on a re-run or a retried execution', async () => {
			const { pkeys } = await contactsWithProfiles(5);
			await fx.campaign.simulateDelivery({ profiles: pkeys, openRate: 1, clickRate: 1, seed: 9 });
			const total = (await campaignEvents()).length;
			const wf = exportWorkflow();
			await runExport(wf);
			const ids = (await activities('open')).map((r) => r.activityid).sort();

			// A retried execution reads the same events again (its checkpoint was never stored).
			delete wf.staticData('Export')[EXPORT_STATE_KEY];
			const { summary } = await runExport(wf);
			expect(summary.exported.total).toBe(total);
			let written = 0;
			for (const type of Object.keys(TABLES) as EventType[])
				written += (await activities(type)).length;
			expect(written).toBe(total);
			expect((await activities('open')).map((r) => r.activityid).sort()).toEqual(ids);
		});

		it('upserts the same activity when the same input items arrive twice', async () => {
			const { contactIds } = await contactsWithProfiles(1);
			const event = {
				eventId: 'WEBHOOK-1',
				type: 'opened',
				profileExternalId: contactIds[0],
				campaignName: 'Autumn',
				deliveryName: 'Reminder',
				date: '2026-03-01T10:00:00Z',
			};
			const wf = exportWorkflow({ source: 'input' });
			for (let i = 0; i < 2; i++) {
				const result = await wf.run('Export', [[{ json: event }]]);
				expect(split(result.output('Export', 0)).summary.exported.open).toBe(1);
			}
			const rows = await activities('open');
			expect(rows).toHaveLength(1);
			expect(rows[0]).toMatchObject({ adobe_eventid: 'WEBHOOK-1', adobe_campaignname: 'Autumn' });
		});
	});

	describe('Contacts', () => {
		it('sends an event whose profile has no Dynamics contact to the error output with the reason', async () => {
			const { pkeys } = await contactsWithProfiles(2);
			const [orphan, noExternalId] = await fx.campaign.insert('profile', [
				{ externalId: 'a0a0a0a0-0000-4000-8000-000000000001', email: 'gone@example.com' },
				{ email: 'lead@example.com' },
			]);
			await fx.campaign.simulateDelivery({
				profiles: [...pkeys, orphan.PKey, noExternalId.PKey],
				bounceRate: 0,
				openRate: 0,
				seed: 10,
			});
			const wf = exportWorkflow();
			const { summary, errors } = await runExport(wf);

			expect(summary.exported.send).toBe(2);
			expect(summary.failed).toBe(2);
			expect(errors).toHaveLength(2);
			expect(errors.map((e) => e.error)).toEqual(
				expect.arrayContaining([
					expect.stringMatching(
						/no Dynamics 365 contact has the id a0a0a0a0-0000-4000-8000-000000000001/,
					),
					expect.stringMatching(/has no externalId, so it has no Dynamics 365 contact/),
				]),
			);
			expect(errors.every((e) => typeof (e.details as IDataObject).eventId === 'string')).toBe(
				true,
			);
			expect(await activities('send')).toHaveLength(2);
			// Reported events count as handled: the next run does not read them again.
			expect((await runExport(wf)).summary.eventsRead).toBe(0);
		});

		it("finds the contact through the profile's PKey when an input event carries only that", async () => {
			const { contactIds, pkeys } = await contactsWithProfiles(1);
			const wf = exportWorkflow({ source: 'input' });
			const result = await wf.run('Export', [
				[
					{
						json: {
							eventId: 'HOOK-7',
							type: 'click',
							profile: { PKey: pkeys[0] },
							campaignName: 'C',
							deliveryName: 'D',
							date: '2026-03-02 08:00:00.000Z',
							clickedUrl: 'https://www.example.com/a',
						},
					},
					{ json: { eventId: 'HOOK-8', type: 'click' } },
				],
			]);
			const { results, summary } = split(result.output('Export', 0));
			expect(results).toEqual([
				expect.objectContaining({ eventId: 'HOOK-7', contactId: contactIds[0] }),
			]);
			expect(summary.failed).toBe(1);
			const errors = result.output('Export', 1);
			expect(errors).toEqual([
				expect.objectContaining({
					error: expect.stringMatching(
						/event HOOK-8: neither "profileExternalId" nor "profilePKey"/,
					),
					details: expect.objectContaining({ eventId: 'HOOK-8', status: 'failed' }),
				}),
			]);
			expect(result.run.data.resultData.runData.Export[0].data?.main[1]?.[0].pairedItem).toEqual({
				item: 1,
			});
		});
	});

	describe('Batches', () => {
		it('lands the other changes of a batch when one fails, and reports the failed one', async () => {
			const { contactIds } = await contactsWithProfiles(3);
			const long = `https://mirror.campaign.example/${'x'.repeat(990)}`;
			await fx.campaign.insert(
				'cusEmailEvent',
				contactIds.map((id, i) => ({
					eventId: `EV-${i}`,
					type: 'send',
					profileExternalId: id,
					campaignName: 'C',
					deliveryName: 'D',
					date: '2026-03-01T10:00:00Z',
					mirrorPageUrl: i === 1 ? long : 'https://mirror.campaign.example/ok',
				})),
			);
			await fx.dataverse.resetCounters();
			const { summary, errors } = await runExport(exportWorkflow());
			expect((await fx.dataverse.counters())['POST $batch']).toBe(1);
			expect(summary.exported.send).toBe(2);
			expect(summary.failed).toBe(1);
			expect(errors).toEqual([
				expect.objectContaining({
					error: expect.stringMatching(/EV-1.*adobe_emailsend.*adobe_mirrorpageurl/),
					details: expect.objectContaining({ eventId: 'EV-1', type: 'send' }),
				}),
			]);
			expect((await activities('send')).map((r) => r.adobe_eventid).sort()).toEqual([
				'EV-0',
				'EV-2',
			]);
		});

		it('waits out throttling (429 with Retry-After) of a contact lookup and of a $batch in the middle of the run, writing each event once', async () => {
			const { pkeys } = await contactsWithProfiles(6);
			await fx.campaign.simulateDelivery({ profiles: pkeys, openRate: 1, seed: 11 });
			const total = (await campaignEvents()).length;
			await fx.dataverse.resetCounters();
			await fx.dataverse.setFaults({
				script: [
					{ kind: '429', route: 'contacts', retryAfter: 0 },
					// the second $batch of the run: the first one has landed, the rest follow after the wait
					{ kind: '429', route: '\\$batch', retryAfter: 1, after: 1 },
				],
			});
			const { summary, errors } = await runExport(exportWorkflow({ options: { batchSize: 4 } }));
			expect(errors).toEqual([]);
			expect(summary.exported.total).toBe(total);
			const counters = await fx.dataverse.counters();
			const batches = Math.ceil(total / 4);
			expect(counters['POST $batch']).toBe(batches + 1);
			expect((await activities('send')).length + (await activities('open')).length).toBe(total);
		});

		it('fails the execution listing the failed events when errors are not routed, after writing the others', async () => {
			const { contactIds } = await contactsWithProfiles(2);
			const wf = exportWorkflow({ source: 'input' }, { onError: undefined });
			const result = await wf.run('Export', [
				[
					{
						json: {
							eventId: 'OK-1',
							type: 'send',
							profileExternalId: contactIds[0],
							campaignName: 'C',
							deliveryName: 'D',
							date: '2026-03-01T10:00:00Z',
						},
					},
					{
						json: {
							eventId: 'BAD-1',
							type: 'send',
							profileExternalId: 'b0b0b0b0-0000-4000-8000-000000000009',
							campaignName: 'C',
							deliveryName: 'D',
							date: '2026-03-01T10:00:00Z',
						},
					},
				],
			]);
			expect(result.status).toBe('error');
			const error = result.nodes.Export.error as Error & { description?: string };
			expect(error.message).toMatch(/1 of 2 email events could not be exported/);
			expect(error.description).toMatch(/BAD-1/);
			expect((await activities('send')).map((r) => r.adobe_eventid)).toEqual(['OK-1']);
		});
	});

	describe('Follow-up tasks', () => {
		it('creates none by default', async () => {
			const { pkeys } = await contactsWithProfiles(4);
			await fx.campaign.simulateDelivery({ profiles: pkeys, openRate: 1, clickRate: 1, seed: 12 });
			await runExport(exportWorkflow());
			expect((await fx.dataverse.dump('task')).records).toHaveLength(0);
		});

		it("creates one task for the contact's owner per click and bounce, also across re-runs", async () => {
			const { contactIds, pkeys } = await contactsWithProfiles(6);
			await fx.campaign.simulateDelivery({
				profiles: pkeys,
				openRate: 1,
				clickRate: 0.5,
				bounceRate: 0.3,
				seed: 13,
			});
			const expected = countByType(await campaignEvents());
			const wf = exportWorkflow({ createFollowUpTasks: true });
			const { summary } = await runExport(wf);
			expect(summary.followUpTasks).toBe(expected.click + expected.bounce);
			delete wf.staticData('Export')[EXPORT_STATE_KEY];
			await runExport(wf);
			const tasks = (await fx.dataverse.dump('task')).records;
			expect(tasks).toHaveLength(expected.click + expected.bounce);
			const contacts = (await fx.dataverse.dump('contact')).records;
			const task = tasks[0];
			const regarding = JSON.stringify(task.regardingobjectid);
			const contact = contacts.find((c) => regarding.includes(String(c.contactid)))!;
			expect(contactIds).toContain(contact.contactid);
			expect(JSON.stringify(task.ownerid)).toBe(JSON.stringify(contact.ownerid));
			expect(String(task.subject)).toMatch(/^Follow up: /);
		});
	});

	describe('Dataverse as Microsoft documents it (#15)', () => {
		afterEach(async () => await fx.dataverse.setBehavior({}));

		function sendEvent(eventId: string, contactId: string, type = 'send') {
			return {
				json: {
					eventId,
					type,
					profileExternalId: contactId,
					campaignName: 'C',
					deliveryName: 'D',
					date: '2026-03-01T10:00:00Z',
					...(type === 'click' ? { clickedUrl: 'https://www.example.com/offer' } : {}),
				},
			};
		}

		it('exports an event whose id holds characters Dataverse refuses in key URLs, once across re-runs', async () => {
			const [contactId] = await fx.dataverse.seed('contact', [{ lastname: 'Keyed' }]);
			const odd = ['EV/2026:03', 'EV?a&b', 'EV+1%2*<x>\\y'];
			const wf = exportWorkflow({ source: 'input' });
			for (let run = 0; run < 2; run++) {
				const result = await wf.run('Export', [odd.map((id) => sendEvent(id, contactId))]);
				expect(result.output('Export', 1)).toEqual([]);
				expect(split(result.output('Export', 0)).summary.exported.send).toBe(3);
			}
			const rows = await activities('send');
			expect(rows.map((r) => r.adobe_eventid).sort()).toEqual([...odd].sort());
		});

		it("binds a team-owned contact's follow-up task to the team", async () => {
			const [teamId] = await fx.dataverse.seed('team', [{ name: 'Key Accounts' }]);
			const [contactId] = await fx.dataverse.seed('contact', [
				{ lastname: 'TeamOwned', ownerid: { id: teamId, table: 'team' } },
			]);
			const wf = exportWorkflow({ source: 'input', createFollowUpTasks: true });
			const result = await wf.run('Export', [[sendEvent('CLICK-T1', contactId, 'click')]]);
			expect(result.output('Export', 1)).toEqual([]);
			expect(split(result.output('Export', 0)).summary.followUpTasks).toBe(1);
			const [task] = (await fx.dataverse.dump('task')).records;
			expect(task.ownerid).toEqual({ id: teamId, table: 'team' });
		});

		it('writes each event once when an upsert loses a race to a concurrent create', async () => {
			const [contactId] = await fx.dataverse.seed('contact', [{ lastname: 'Raced' }]);
			await fx.dataverse.setBehavior({ concurrentKeyCreates: 2 });
			const wf = exportWorkflow({ source: 'input' });
			const ids = ['RACE-1', 'RACE-2', 'RACE-3'];
			const result = await wf.run('Export', [ids.map((id) => sendEvent(id, contactId))]);
			expect(result.output('Export', 1)).toEqual([]);
			expect(split(result.output('Export', 0)).summary.exported.send).toBe(3);
			expect((await activities('send')).map((r) => r.adobe_eventid).sort()).toEqual(ids);
		});

		it('never duplicates an activity when the answer of a $batch is lost', async () => {
			const [contactId] = await fx.dataverse.seed('contact', [{ lastname: 'Lost' }]);
			const events = [sendEvent('LOST-1', contactId), sendEvent('LOST/2', contactId)];
			const wf = exportWorkflow({ source: 'input' }, { onError: undefined });
			await fx.dataverse.setBehavior({ lostBatchAnswers: 1 });
			// The batch holds a create (the key cannot go into a URL), so it is not sent again blindly.
			const first = await wf.run('Export', [events]);
			expect(first.status).toBe('error');
			const second = await wf.run('Export', [events]);
			expect(second.status).toBe('success');
			expect((await activities('send')).map((r) => r.adobe_eventid).sort()).toEqual([
				'LOST-1',
				'LOST/2',
			]);
			await fx.dataverse.setBehavior({ lostBatchAnswers: 1 });
			const replayed = await wf.run('Export', [[sendEvent('LOST-3', contactId)]]);
			expect(replayed.status).toBe('success');
			expect((await activities('send')).map((r) => r.adobe_eventid).sort()).toEqual([
				'LOST-1',
				'LOST-3',
				'LOST/2',
			]);
		});

		it("writes batches of 10 by default, as Microsoft advises (api-limits.md, 'Avoid large batches')", async () => {
			const [contactId] = await fx.dataverse.seed('contact', [{ lastname: 'Batched' }]);
			await fx.dataverse.resetCounters();
			const wf = exportWorkflow({ source: 'input' });
			const events = Array.from({ length: 25 }, (_, i) => sendEvent(`B-${i}`, contactId));
			const result = await wf.run('Export', [events]);
			expect(split(result.output('Export', 0)).summary.exported.send).toBe(25);
			expect((await fx.dataverse.counters())['POST $batch']).toBe(3);
		});
	});

	describe('Target tables', () => {
		it('offers the activity tables and their columns from Dataverse metadata', async () => {
			const wf = exportWorkflow();
			const tables = (await wf.listSearch('Export', 'searchTables')).results.map((o) => o.value);
			expect(tables).toEqual(expect.arrayContaining(Object.values(TABLES)));
			// The send table as the editor stores a choice from its list.
			const columns = (
				await wf.loadOptions('Export', 'getActivityColumns', {
					sendTable: { __rl: true, mode: 'list', value: TABLES.send },
				})
			).map((o) => o.value);
			expect(columns).toEqual(
				expect.arrayContaining(['adobe_eventid', 'adobe_campaignname', 'adobe_eventdate']),
			);
			// Lookup helpers (AttributeOf) are no columns a value can be written to.
			expect(columns).not.toContain('regardingobjectidname');
			expect(columns).not.toContain('owneridtype');
			const click = (await wf.loadOptions('Export', 'getClickColumns')).map((o) => o.value);
			expect(click).toContain('adobe_clickedurl');
		});

		it('refuses a table without an alternate key on the event id column, naming both', async () => {
			const { pkeys } = await contactsWithProfiles(1);
			await fx.campaign.simulateDelivery({ profiles: pkeys, seed: 15 });
			const wf = exportWorkflow({ sendTable: 'task' });
			const result = await wf.run('Start');
			expect(result.status).toBe('error');
			expect(result.nodes.Export.error?.message).toMatch(
				/table "task" has no alternate key on the column "adobe_eventid"/,
			);
			expect((await fx.dataverse.dump('task')).records).toHaveLength(0);
			expect(wf.staticData('Export')[EXPORT_STATE_KEY]).toBeUndefined();
		});
	});

	it('is a quiet no-op when Sends, Opens, Clicks and Bounces are all set to No', async () => {
		const { pkeys } = await contactsWithProfiles(2);
		await fx.campaign.simulateDelivery({ profiles: pkeys, bounceRate: 0, openRate: 0 });
		await fx.dataverse.resetCounters();
		await fx.campaign.resetCounters();
		const wf = exportWorkflow({ sends: false, opens: false, clicks: false, bounces: false });
		const { result, summary } = await runExport(wf);
		expect(result.status).toBe('success');
		expect(summary).toMatchObject({ eventsRead: 0, exported: { total: 0 }, failed: 0 });
		expect(summary.notice).toMatch(/all set to No/);
		expect(await fx.dataverse.counters()).toEqual({});
		expect(await fx.campaign.counters()).toEqual({});
		// Switching a type on later exports the events from the start: the checkpoint did not move.
		wf.setParameters('Export', { sends: true });
		expect((await runExport(wf)).summary.exported.send).toBe(2);
	});

	it('runs as the campaign-to-dynamics template against the sandbox', async () => {
		const template = JSON.parse(
			readFileSync(path.join(__dirname, '../../templates/campaign-to-dynamics.json'), 'utf8'),
		) as WorkflowJson & { nodes: INode[] };
		for (const n of template.nodes) {
			if (n.credentials?.dynamics365Api) {
				n.credentials = {
					dynamics365Api: { id: '1', name: 'Dynamics 365 (sandbox)' },
					adobeCampaignStandardApi: { id: '2', name: 'Campaign (sandbox)' },
				};
			}
		}
		const { pkeys } = await contactsWithProfiles(3);
		await fx.campaign.simulateDelivery({ profiles: pkeys, openRate: 1, seed: 14 });
		const total = (await campaignEvents()).length;
		const wf = fx.workflow(template);
		const result = await wf.run('Every 5 Minutes');
		expect(result.status).toBe('success');
		const { summary } = split(result.output('Email Events Export', 0));
		expect(summary.exported.total).toBe(total);
	});
});
