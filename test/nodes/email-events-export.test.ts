import { readFileSync } from 'fs';
import path from 'path';

import type { IDataObject, INode, INodeParameters } from 'n8n-workflow';

import { EmailEventsExport } from '../../nodes/EmailEventsExport/EmailEventsExport.node';
import type { ExportSummary } from '../../lib/flows/events-export/flow';
import { EXPORT_STATE, type ExportState } from '../../lib/flows/events-export/state';
import { SUMMARY_KEY } from '../../nodes/shared/outcomes';
import type { WorkflowJson } from '../../sandbox/harness/engine';
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
			const state = wf.staticData('Export')[EXPORT_STATE.key] as unknown as ExportState;
			expect(state).toMatchObject({ version: 2, resource: 'cusEmailEvent', failed: [] });
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
			expect(wf.staticData('Export')[EXPORT_STATE.key]).toBeUndefined();

			const { summary } = await runExport(wf);
			expect(summary.exported.send).toBe(4);
			expect(await activities('send')).toHaveLength(4);
		});
	});

	describe('Failed events are never lost', () => {
		const ORPHAN = 'c0c0c0c0-0000-4000-8000-00000000000c';

		/** Two paired contacts, and a profile whose contact is not (yet) in Dynamics 365. */
		async function withOrphan(seed: number) {
			const { pkeys } = await contactsWithProfiles(2, seed);
			const [orphan] = await fx.campaign.insert('profile', [
				{ externalId: ORPHAN, email: 'later@example.com' },
			]);
			await fx.campaign.simulateDelivery({
				profiles: [pkeys[0], orphan.PKey, pkeys[1]],
				bounceRate: 0,
				openRate: 1,
				clickRate: 0,
				seed,
			});
			const events = await campaignEvents();
			const orphanIds = events
				.filter((e) => e.profileExternalId === ORPHAN)
				.map((e) => String(e.eventId));
			return { events, orphanIds };
		}

		it('keeps a failed event and exports it on a later run once its contact exists', async () => {
			const { events, orphanIds } = await withOrphan(30);
			expect(orphanIds).toHaveLength(2);
			const wf = exportWorkflow();
			const first = await runExport(wf);
			expect(first.errors.map((e) => (e.details as IDataObject).eventId).sort()).toEqual(
				[...orphanIds].sort(),
			);
			expect(first.summary).toMatchObject({
				failedKept: 2,
				exported: { total: events.length - 2 },
			});

			// The contact is created in Dynamics 365 (e.g. restored); the next run exports the events.
			await fx.dataverse.seed('contact', [{ contactid: ORPHAN, lastname: 'Later' }]);
			const second = await runExport(wf);
			expect(second.errors).toEqual([]);
			expect(second.summary).toMatchObject({
				eventsRead: 0,
				retries: { tried: 2, exported: 2, stillFailing: 0 },
				failedKept: 0,
			});
			const written = [...(await activities('send')), ...(await activities('open'))].map((r) =>
				String(r.adobe_eventid),
			);
			expect(written.sort()).toEqual(events.map((e) => String(e.eventId)).sort());
			expect((await runExport(wf)).summary).toMatchObject({ eventsRead: 0, retries: { tried: 0 } });
		});

		it('stops before a failure it has no room to keep, and goes on once it is exported', async () => {
			const { events, orphanIds } = await withOrphan(31);
			const wf = exportWorkflow({ options: { maxFailedKept: 1 } });
			const first = await runExport(wf);
			expect(first.summary.failedKept).toBe(1);
			expect(first.summary.notice).toMatch(/1 failed events are kept to retry/);
			const state = wf.staticData('Export')[EXPORT_STATE.key] as unknown as ExportState;
			expect(state.failed.map((f) => f.eventId)).toEqual([
				first.errors[0].details && (first.errors[0].details as IDataObject).eventId,
			]);
			// The second failure was not passed by: it is read, and fails, again (beside the kept
			// one, tried again and reported again).
			const again = await runExport(wf);
			const details = again.errors.map((e) => e.details as IDataObject);
			expect(details.filter((d) => !d.retried)).toHaveLength(1);
			expect(details.filter((d) => d.retried)).toHaveLength(1);
			for (const d of details) expect(orphanIds).toContain(d.eventId);

			await fx.dataverse.seed('contact', [{ contactid: ORPHAN, lastname: 'Later' }]);
			const last = await runExport(wf);
			expect(last.errors).toEqual([]);
			expect(last.summary.failedKept).toBe(0);
			const written = [...(await activities('send')), ...(await activities('open'))];
			expect(written.map((r) => String(r.adobe_eventid)).sort()).toEqual(
				events.map((e) => String(e.eventId)).sort(),
			);
		});

		it('stops before the first failure when failed events cannot be found again (no event ID filter)', async () => {
			await withOrphan(32);
			const wf = exportWorkflow({ campaignEvents: { eventKeyFilter: 'byNothing' } });
			const first = await runExport(wf);
			expect(first.summary.failedKept).toBe(0);
			expect(first.summary.notice).toMatch(/cannot be kept to retry .*has no filter "byNothing"/);
			const state = wf.staticData('Export')[EXPORT_STATE.key] as unknown as ExportState;
			expect(state.failed).toEqual([]);
			await fx.dataverse.seed('contact', [{ contactid: ORPHAN, lastname: 'Later' }]);
			const second = await runExport(wf);
			expect(second.errors).toEqual([]);
			const all = (await campaignEvents()).map((e) => String(e.eventId)).sort();
			const written = [...(await activities('send')), ...(await activities('open'))];
			expect(written.map((r) => String(r.adobe_eventid)).sort()).toEqual(all);
		});
	});

	describe('Events sharing one modification date', () => {
		it('exports each once across runs when a whole workflow run shares one lastModified', async () => {
			const { pkeys } = await contactsWithProfiles(12, 40);
			await fx.campaign.simulateDelivery({
				profiles: pkeys,
				openRate: 1,
				clickRate: 0.5,
				seed: 41,
				runWorkflow: false,
			});
			await fx.campaign.runEmailEventsWorkflow({ batchSize: 1000 });
			const events = await campaignEvents();
			expect(new Set(events.map((e) => e.lastModified)).size).toBe(1);
			const wf = exportWorkflow({ options: { pageSize: 4, maxEventsPerRun: 5 } });
			let exported = 0;
			for (let run = 0; run < 20; run++) {
				const { summary } = await runExport(wf);
				exported += summary.exported.total;
				if (!summary.eventsRead) break;
			}
			expect(exported).toBe(events.length);
			const written = [
				...(await activities('send')),
				...(await activities('open')),
				...(await activities('click')),
			];
			expect(written).toHaveLength(events.length);
		});

		it('reads an event again when Campaign changes it, and updates the same activity', async () => {
			const { pkeys } = await contactsWithProfiles(2, 42);
			await fx.campaign.simulateDelivery({ profiles: pkeys, bounceRate: 0, openRate: 0, seed: 43 });
			const wf = exportWorkflow();
			await runExport(wf);
			const [event] = await campaignEvents();
			await fx.campaign.edit('cusEmailEvent', String(event.PKey), { campaignName: 'Renamed' });
			const { summary } = await runExport(wf);
			expect(summary).toMatchObject({ eventsRead: 1, exported: { total: 1 } });
			const rows = await activities('send');
			expect(rows).toHaveLength(2);
			expect(rows.find((r) => r.adobe_eventid === event.eventId)?.adobe_campaignname).toBe(
				'Renamed',
			);
		});

		it('goes on from a checkpoint stored by the earlier version of the node', async () => {
			const { pkeys } = await contactsWithProfiles(3, 44);
			await fx.campaign.simulateDelivery({ profiles: pkeys, bounceRate: 0, openRate: 0, seed: 45 });
			const events = await campaignEvents();
			const wf = exportWorkflow();
			wf.staticData('Export')[EXPORT_STATE.key] = {
				version: 1,
				resource: 'cusEmailEvent',
				checkpoint: {
					lastModified: String(events[0].lastModified),
					eventId: String(events[0].eventId),
				},
			};
			const { summary } = await runExport(wf);
			// The events at that date are read again: writing them again is harmless (upserts).
			expect(summary.eventsRead).toBe(events.length);
			expect(await activities('send')).toHaveLength(events.length);
			expect(wf.staticData('Export')[EXPORT_STATE.key]).toMatchObject({ version: 2 });
		});

		it('refuses a position it cannot read, writing nothing and keeping it as it is', async () => {
			const { pkeys } = await contactsWithProfiles(2, 46);
			await fx.campaign.simulateDelivery({ profiles: pkeys, bounceRate: 0, openRate: 0, seed: 47 });
			const cases: Array<{ stored: unknown; message: RegExp }> = [
				{
					stored: { version: 3, resource: 'cusEmailEvent', failed: [] },
					message:
						/^The Email Events Export's saved event position has version 3, written by a newer version of this package\. Update the package on this n8n\.$/,
				},
				{
					stored: { resource: 'cusEmailEvent', failed: [] },
					message:
						/^The Email Events Export's saved event position is unreadable\. Add a new Email Events Export node to start over\.$/,
				},
				{ stored: 'cusEmailEvent', message: /saved event position is unreadable/ },
			];
			for (const { stored, message } of cases) {
				const wf = exportWorkflow();
				wf.staticData('Export')[EXPORT_STATE.key] = stored as IDataObject;
				const { result } = await runExport(wf);
				expect(result.status).toBe('error');
				expect(String(result.nodes.Export.error?.message)).toMatch(message);
				expect(wf.staticData('Export')[EXPORT_STATE.key]).toEqual(stored);
			}
			expect(await activities('send')).toHaveLength(0);
		});
	});

	describe('Activity tables', () => {
		const ALL = Object.values(TABLES);

		async function dropActivityTables() {
			for (const table of ALL) await fx.dataverse.dropTable(table);
		}

		it('names every missing table and writes nothing when Create Missing Activity Tables is off', async () => {
			const { pkeys } = await contactsWithProfiles(2, 50);
			await fx.campaign.simulateDelivery({ profiles: pkeys, seed: 51 });
			await dropActivityTables();
			await fx.campaign.resetCounters();
			const wf = exportWorkflow();
			const result = await wf.run('Start');
			expect(result.status).toBe('error');
			const error = result.nodes.Export.error as Error & { description?: string };
			for (const table of ALL) expect(error.description).toContain(`the table "${table}"`);
			expect(error.description).toMatch(/Switch on "Create Missing Activity Tables"/);
			expect(await fx.campaign.counters()).toEqual({});
			expect(wf.staticData('Export')[EXPORT_STATE.key]).toBeUndefined();
		});

		it('creates the four activity tables, their columns and the event id key, waits for the key, then writes', async () => {
			const { contactIds, pkeys } = await contactsWithProfiles(3, 52);
			await fx.campaign.simulateDelivery({
				profiles: pkeys,
				openRate: 1,
				clickRate: 1,
				bounceRate: 0,
				seed: 53,
			});
			await dropActivityTables();
			await fx.dataverse.setBehavior({ keyIndexDelayMs: 1500 });
			try {
				const wf = exportWorkflow({ createMissingTables: true });
				const { summary, errors } = await runExport(wf);
				expect(errors).toEqual([]);
				expect(summary.created).toEqual(
					expect.arrayContaining([
						'table adobe_emailsend',
						'column adobe_emailclick.adobe_clickedurl',
						'alternate key adobe_emailbounce_eventid_key',
					]),
				);
				const events = await campaignEvents();
				expect(summary.exported.total).toBe(events.length);
				const tables = (await fx.dataverse.tables()).tables;
				const send = tables.find((t) => t.logicalName === 'adobe_emailsend')!;
				expect(send).toMatchObject({ isActivity: true, primaryNameAttribute: 'subject' });
				expect(send.keys).toEqual([expect.objectContaining({ attributes: ['adobe_eventid'] })]);
				// On the contact's timeline: regarding the contact, owned by the application user.
				const click = (await activities('click'))[0];
				expect(contactIds.some((id) => JSON.stringify(click.regardingobjectid).includes(id))).toBe(
					true,
				);
				expect(click.ownerid).toMatchObject({ table: 'systemuser' });
				// A second run finds everything in place and creates nothing.
				const again = await runExport(wf);
				expect(again.summary.created).toBeUndefined();
			} finally {
				await fx.dataverse.setBehavior({});
			}
		});

		it('says so when the key index cannot be built because rows hold the same event id twice', async () => {
			await dropActivityTables();
			await fx.dataverse.defineTables([
				{
					logicalName: 'adobe_emailsend',
					isActivity: true,
					primaryNameAttribute: 'subject',
					columns: [
						{ logicalName: 'subject', type: 'String', maxLength: 400 },
						{ logicalName: 'adobe_eventid', type: 'String', maxLength: 100 },
						{ logicalName: 'regardingobjectid', type: 'Lookup', targets: ['contact'] },
					],
				},
			]);
			await fx.dataverse.seed('adobe_emailsend', [
				{ subject: 'a', adobe_eventid: 'send 1' },
				{ subject: 'b', adobe_eventid: 'send 1' },
			]);
			await fx.dataverse.setBehavior({ keyIndexDelayMs: 200 });
			try {
				const wf = exportWorkflow({
					createMissingTables: true,
					opens: false,
					clicks: false,
					bounces: false,
				});
				const result = await wf.run('Start');
				expect(result.status).toBe('error');
				const error = result.nodes.Export.error as Error & { description?: string };
				expect(error.description).toMatch(
					/alternate key "adobe_emailsend_eventid_key" of "adobe_emailsend" failed to build \(EntityKeyIndexStatus Failed\).*ReactivateEntityKey/,
				);
			} finally {
				await fx.dataverse.setBehavior({});
			}
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
			delete wf.staticData('Export')[EXPORT_STATE.key];
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
		it("skips an event whose profile has no externalId (no Dynamics 365 contact's profile), and reports one whose contact does not exist", async () => {
			const { pkeys } = await contactsWithProfiles(2);
			const [orphan, lead] = await fx.campaign.insert('profile', [
				{ externalId: 'a0a0a0a0-0000-4000-8000-000000000001', email: 'gone@example.com' },
				{ email: 'lead@example.com' },
			]);
			await fx.campaign.simulateDelivery({
				profiles: [...pkeys, orphan.PKey, lead.PKey],
				bounceRate: 0,
				openRate: 0,
				seed: 10,
			});
			const wf = exportWorkflow();
			const { summary, errors } = await runExport(wf);

			expect(summary.exported.send).toBe(2);
			expect(summary.noContact).toBe(1);
			expect(summary.failed).toBe(1);
			expect(errors).toEqual([
				expect.objectContaining({
					error: expect.stringMatching(
						/no Dynamics 365 contact has the id a0a0a0a0-0000-4000-8000-000000000001 \(the profile's externalId\)/,
					),
					details: expect.objectContaining({ eventId: expect.any(String), status: 'failed' }),
				}),
			]);
			expect(await activities('send')).toHaveLength(2);
			// Nothing new to read; the failed event is kept, tried again, and reported again while
			// it still fails.
			const next = await runExport(wf);
			expect(next.summary.eventsRead).toBe(0);
			expect(next.summary.retries).toMatchObject({ tried: 1, stillFailing: 1, exported: 0 });
			expect(next.summary.failed).toBe(1);
			expect(next.errors).toEqual([
				expect.objectContaining({ details: expect.objectContaining({ retried: true }) }),
			]);
		});

		it("reads the profile through the link's href, never a URL built from its PKey", async () => {
			const { contactIds, pkeys } = await contactsWithProfiles(1);
			const profile = await fx.campaign.read('profile', pkeys[0]);
			const href = `${fx.sandboxes.campaign.apiBase}/profileAndServicesExt/profile/${String(profile.PKey)}`;
			const wf = exportWorkflow({ source: 'input' });
			const result = await wf.run('Export', [
				[
					{
						json: {
							eventId: 'HOOK-7',
							type: 'click',
							// A PKey of another answer than the href's, as Campaign v8 gives them.
							profile: { PKey: '@changed-since', href },
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
						/event HOOK-8: neither "profileExternalId" nor "profile" \(a link with its href\)/,
					),
					details: expect.objectContaining({ eventId: 'HOOK-8', status: 'failed' }),
				}),
			]);
			expect(result.run.data.resultData.runData.Export[0].data?.main[1]?.[0].pairedItem).toEqual({
				item: 1,
			});
		});

		it('pairs events with contacts on a Campaign v8 tenant, whose PKeys change between answers', async () => {
			const contactIds = await fx.dataverse.generate('contact', 4, 21);
			// The profiles hold the contact id; the events carry no copy of it.
			const profiles = await fx.campaign.insert(
				'profile',
				contactIds.map((id, i) => ({ externalId: id, email: `v8-${i}@example.com` })),
			);
			await fx.campaign.simulateDelivery({ profiles: profiles.map((p) => p.PKey), seed: 22 });
			for (const e of (await campaignEvents()) as Array<Record<string, unknown>>) {
				await fx.campaign.edit('cusEmailEvent', String(e.PKey), { profileExternalId: '' });
			}
			await fx.campaign.setOptions({ flavor: 'v8' });
			const total = (await campaignEvents()).length;
			const { summary, errors } = await runExport(exportWorkflow());
			expect(errors).toEqual([]);
			expect(summary.exported.total).toBe(total);
			expect(summary.noContact).toBe(0);
		});

		it('exports as soon as the administrator publishes the modified-since filter a run found missing (metadata read again, not kept 15 minutes)', async () => {
			const { pkeys } = await contactsWithProfiles(3, 31);
			const documented = (await fx.campaign.resources()).find((r) => r.name === 'cusEmailEvent')!;
			await fx.campaign.defineResource({
				...documented,
				filters: (documented.filters ?? []).filter((f) => f.name !== 'byModifiedSince'),
			});
			await fx.campaign.simulateDelivery({ profiles: pkeys, bounceRate: 0, seed: 31 });
			const wf = exportWorkflow();
			const refused = await wf.run('Start');
			expect(refused.status).toBe('error');
			expect(String(refused.nodes.Export.error?.message)).toMatch(
				/"cusEmailEvent" has no filter "byModifiedSince"/,
			);
			await fx.campaign.defineResource(documented);
			const { summary, errors } = await runExport(wf);
			expect(errors).toEqual([]);
			expect(summary.exported.total).toBe((await campaignEvents()).length);
			expect(summary.exported.total).toBeGreaterThan(0);
		});

		it('pairs events through the Campaign Profile Key chosen in the settings, with its filter', async () => {
			const resources = await fx.campaign.resources();
			const profile = resources.find((r) => r.name === 'profile')!;
			await fx.campaign.defineResource({
				...profile,
				fields: [...profile.fields, { name: 'crmContactId', type: 'string', length: 40 }],
				filters: [
					...(profile.filters ?? []),
					{ name: 'byCrmContactId', field: 'crmContactId', label: 'By CRM contact ID' },
				],
			});
			const [contactId] = await fx.dataverse.seed('contact', [{ lastname: 'Keyed' }]);
			const [p] = await fx.campaign.insert('profile', [
				{ crmContactId: contactId, email: 'keyed@example.com' },
			]);
			await fx.campaign.simulateDelivery({
				profiles: [p.PKey],
				bounceRate: 0,
				openRate: 0,
				seed: 23,
			});

			// By default the pairing key is externalId, which this profile lacks.
			const byDefault = await runExport(exportWorkflow());
			expect(byDefault.summary).toMatchObject({ noContact: 1, exported: { total: 0 } });

			// A new node reads the same events again, paired through crmContactId.
			const keyed = await runExport(exportWorkflow({ profileKey: 'crmContactId' }));
			expect(keyed.errors).toEqual([]);
			expect(keyed.summary.exported.send).toBe(1);
			expect(JSON.stringify((await activities('send'))[0].regardingobjectid)).toContain(contactId);

			const wrong = exportWorkflow({ profileKey: 'crmContactId', profileKeyFilter: 'byNothing' });
			const refused = await wrong.run('Start');
			expect(refused.status).toBe('error');
			expect(String(refused.nodes.Export.error?.message)).toMatch(
				/has no filter "byNothing".*Profile Key Filter in Email Events Export/,
			);
		});
	});

	describe('Batches', () => {
		it('lands the other changes of a batch when one fails, and reports the failed one', async () => {
			const { contactIds } = await contactsWithProfiles(3);
			// The mirror page column holds 100 characters here: Dynamics 365 refuses a longer URL.
			const { tables } = await fx.dataverse.tables();
			const send = tables.find((t) => t.logicalName === 'adobe_emailsend')!;
			await fx.dataverse.defineTables([
				{
					...send,
					columns: send.columns.map((c) =>
						c.logicalName === 'adobe_mirrorpageurl' ? { ...c, maxLength: 100 } : c,
					),
				},
			]);
			const long = `https://mirror.campaign.example/${'x'.repeat(200)}`;
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
			delete wf.staticData('Export')[EXPORT_STATE.key];
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
			const error = result.nodes.Export.error as Error & { description?: string };
			expect(error.message).toMatch(/Dynamics 365 is not ready for the email events/);
			expect(error.description).toMatch(
				/the table "task" has no alternate key on the column "adobe_eventid"/,
			);
			expect(error.description).toMatch(
				/Event ID Column: the table "task" has no column "adobe_eventid"/,
			);
			expect((await fx.dataverse.dump('task')).records).toHaveLength(0);
			expect(wf.staticData('Export')[EXPORT_STATE.key]).toBeUndefined();
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
