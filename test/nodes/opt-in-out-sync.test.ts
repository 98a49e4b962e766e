import { readFileSync } from 'fs';
import path from 'path';

import type { IDataObject, INode } from 'n8n-workflow';

import { OptInOutSync } from '../../nodes/OptInOutSync/OptInOutSync.node';
import { OPT_IN_OUT_STATE, rememberedPairs } from '../../lib/flows/opt-in-out/state';
import { loadState } from '../../lib/state/store';
import type { OptInOutRecordItem, OptInOutSummary } from '../../lib/flows/opt-in-out/cycle';
import type { TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';
import { chain, node, useNodeFixture } from './fixture';

const SYNC = 'Opt-In/Out Sync';
const MAPPINGS = {
	mapping: [
		{ dynamicsField: 'donotemail', campaignField: 'denyListEmail' },
		{ dynamicsField: 'donotphone', campaignField: 'denyListPhone' },
	],
};

interface Cycle {
	summary: OptInOutSummary;
	records: OptInOutRecordItem[];
	error?: Error;
}

describe('Opt-In/Out Sync', () => {
	const fx = useNodeFixture(
		{ dataverse: { demoRecords: 0 } },
		{ optInOutSync: new OptInOutSync() },
		async (f) => {
			await f.dataverse.reset({ demoRecords: 0 });
			await f.campaign.reset();
			await f.dataverse.setFaults({});
			await f.campaign.setFaults({});
		},
	);

	function workflow(parameters: IDataObject, extra: IDataObject = {}): TestWorkflow {
		return fx.workflow({
			nodes: [
				node('n8n-nodes-base.scheduleTrigger', 'Schedule', {
					rule: { interval: [{ field: 'minutes', minutesInterval: 5 }] },
				}),
				node('optInOutSync', SYNC, { mappings: MAPPINGS, ...parameters }, extra),
			],
			connections: chain('Schedule', SYNC),
		});
	}

	async function cycle(wf: TestWorkflow): Promise<Cycle> {
		const result = await wf.run('Schedule');
		const items = result.output(SYNC);
		const summaries = items.filter((i) => '_summary' in i);
		return {
			summary: summaries[0]?._summary as unknown as OptInOutSummary,
			records: items.filter((i) => !('_summary' in i)) as unknown as OptInOutRecordItem[],
			error: result.nodes[SYNC]?.error,
		};
	}

	/** The contact ids whose pair the node remembers. */
	function remembered(wf: TestWorkflow): string[] {
		return rememberedPairs(loadState(wf.staticData(SYNC), OPT_IN_OUT_STATE)!).map(([id]) => id);
	}

	/** A contact and its profile, paired by externalId = contactid. */
	async function pair(contactFlags: IDataObject = {}, profileFlags: IDataObject = {}) {
		const [id] = await fx.dataverse.seed('contact', [
			{ firstname: 'Ana', lastname: 'Lima', donotemail: false, donotphone: false, ...contactFlags },
		]);
		const [profile] = await fx.campaign.insert('profile', [
			{
				email: `${id}@example.com`,
				externalId: id,
				blackListEmail: false,
				blackListPhone: false,
				...profileFlags,
			},
		]);
		return { id, pkey: profile.PKey };
	}

	async function contact(id: string) {
		const dump = await fx.dataverse.dump('contact');
		return dump.records.find((r) => r.contactid === id)!;
	}

	async function profile(pkey: string) {
		return await fx.campaign.read('profile', pkey);
	}

	/** Runs `edit` with the sandboxes' clocks fixed at `ms` (both run in this process). */
	async function at<T>(ms: number, edit: () => Promise<T>): Promise<T> {
		const spy = jest.spyOn(Date, 'now').mockReturnValue(ms);
		try {
			return await edit();
		} finally {
			spy.mockRestore();
		}
	}

	describe('Direction', () => {
		it('moves nothing when disabled', async () => {
			const { id, pkey } = await pair({ donotemail: true }, {});
			const { summary, records } = await cycle(workflow({ direction: 'disabled' }));
			expect(summary.notice).toMatch(/disabled/);
			expect(records).toEqual([]);
			expect((await profile(pkey)).blackListEmail).toBe(false);
			expect((await contact(id)).donotemail).toBe(true);
		});

		it('moves nothing for Dynamics 365 to Campaign and points to the contact → profile mapping', async () => {
			const { pkey } = await pair({ donotemail: true }, {});
			const { summary } = await cycle(workflow({ direction: 'dynamicsToCampaign' }));
			expect(summary.notice).toMatch(/contact → profile mapping/);
			expect((await profile(pkey)).blackListEmail).toBe(false);
			const props = new OptInOutSync().description.properties;
			const notice = props.find((p) => p.type === 'notice')!;
			expect(notice.displayOptions?.show?.direction).toEqual(['dynamicsToCampaign']);
			// Shown whatever the direction: n8n drops the values of hidden parameters, and the
			// template ships Disabled with its mappings ready.
			const mappings = props.find((p) => p.name === 'mappings')!;
			expect(mappings.displayOptions).toBeUndefined();
		});

		it('Campaign to Dynamics 365: a Campaign change overwrites the Dynamics value, never the reverse', async () => {
			const { id, pkey } = await pair();
			const wf = workflow({ direction: 'campaignToDynamics' });
			await cycle(wf);
			await fx.campaign.edit('profile', pkey, { blackListEmail: true });
			await fx.dataverse.editRecord('contact', id, { donotphone: true });
			const { summary, records } = await cycle(wf);
			expect((await contact(id)).donotemail).toBe(true);
			// The Dynamics-side change does not flow to Campaign in this direction.
			expect((await profile(pkey)).blackListPhone).toBe(false);
			expect(summary).toMatchObject({ writtenToDynamics: 1, writtenToCampaign: 0, errors: 0 });
			const decisions = records.find((r) => r.contactid === id)!.decisions;
			expect(decisions.find((d) => d.campaignField === 'denyListEmail')).toMatchObject({
				write: 'dynamics',
				value: true,
				reason: 'campaign changed',
			});
			expect(decisions.find((d) => d.campaignField === 'denyListPhone')).toMatchObject({
				write: 'none',
				rule: 'notMoved',
			});
			// A manual Dynamics edit stays until the Campaign value changes (the spec's warning).
			await fx.dataverse.editRecord('contact', id, { donotemail: false });
			const manual = await cycle(wf);
			expect(manual.summary.writtenToDynamics).toBe(0);
			expect((await contact(id)).donotemail).toBe(false);
			await fx.campaign.edit('profile', pkey, { blackListPhone: true });
			await cycle(wf);
			expect((await contact(id)).donotphone).toBe(true);
		});

		it('Bidirectional: a change on either side reaches the other', async () => {
			const a = await pair();
			const b = await pair();
			const wf = workflow({ direction: 'bidirectional' });
			await cycle(wf);
			await fx.dataverse.editRecord('contact', a.id, { donotemail: true });
			await fx.campaign.edit('profile', b.pkey, { blackListPhone: true });
			const { summary } = await cycle(wf);
			expect((await profile(a.pkey)).blackListEmail).toBe(true);
			expect((await contact(b.id)).donotphone).toBe(true);
			expect(summary).toMatchObject({ writtenToDynamics: 1, writtenToCampaign: 1, errors: 0 });
		});
	});

	describe('Mappings', () => {
		it("offers the contact's boolean columns and only Campaign's fixed opt-out fields", async () => {
			const wf = workflow({ direction: 'bidirectional' });
			const options = await wf.loadOptions(SYNC, 'getContactBooleanColumns');
			const values = options.map((o) => o.value);
			expect(values).toEqual(
				expect.arrayContaining([
					'donotbulkemail',
					'donotemail',
					'donotphone',
					'donotfax',
					'donotpostalmail',
				]),
			);
			expect(values).not.toContain('firstname');
			expect(values).not.toContain('gendercode');
			const mappings = new OptInOutSync().description.properties.find(
				(p) => p.name === 'mappings',
			)!;
			const campaignField = (
				mappings.options as Array<{ values: Array<{ name: string; options?: unknown[] }> }>
			)[0].values.find((v) => v.name === 'campaignField')!;
			// Alphabetically, as n8n's UX guidelines sort lists.
			expect((campaignField.options as Array<{ value: string }>).map((o) => o.value)).toEqual([
				'ccpaOptOut',
				'denyList',
				'denyListEmail',
				'denyListFax',
				'denyListMobile',
				'denyListPhone',
				'denyListPostalMail',
				'denyListPushnotification',
			]);
		});

		it('refuses a non-boolean Dynamics field, naming the row and the column', async () => {
			await pair();
			const wf = workflow({
				direction: 'bidirectional',
				mappings: { mapping: [{ dynamicsField: 'firstname', campaignField: 'denyList' }] },
			});
			const { error } = await cycle(wf);
			expect(error?.message).toMatch(/mappings need fixing/);
			expect(JSON.stringify(error)).toMatch(
				/row 1: contact column \\?"firstname\\?" is of type String/,
			);
		});
	});

	describe('Conflicts', () => {
		/**
		 * A pair whose flags disagree in the memory: Dynamics opted out while the direction was
		 * Campaign → Dynamics (so nothing moved), then the admin switched to Bidirectional.
		 */
		async function disagreeingPair(wf: TestWorkflow) {
			const p = await pair();
			wf.setParameters(SYNC, { direction: 'campaignToDynamics' });
			await cycle(wf);
			await fx.dataverse.editRecord('contact', p.id, { donotemail: true });
			const ignored = await cycle(wf);
			expect(ignored.summary.writtenToCampaign).toBe(0);
			wf.setParameters(SYNC, { direction: 'bidirectional' });
			return p;
		}

		it('newer change wins when both sides were edited between cycles', async () => {
			const wf = workflow({ direction: 'bidirectional' });
			const a = await disagreeingPair(wf);
			const base = Math.floor((Date.now() + 60_000) / 1000) * 1000;
			// a: Campaign opts out, then Dynamics opts back in five seconds later: Dynamics is newer.
			await at(base, () => fx.campaign.edit('profile', a.pkey, { blackListEmail: true }));
			await at(base + 5000, () => fx.dataverse.editRecord('contact', a.id, { donotemail: false }));
			const { summary, records } = await cycle(wf);
			expect((await profile(a.pkey)).blackListEmail).toBe(false);
			expect((await contact(a.id)).donotemail).toBe(false);
			expect(summary.conflicts).toMatchObject({ total: 1, dynamicsWon: 1, campaignWon: 0 });
			const item = records.find((r) => r.contactid === a.id)!;
			expect(item.outcome).toBe('conflict');
			const decision = item.decisions.find((d) => d.campaignField === 'denyListEmail')!;
			expect(decision).toMatchObject({ rule: 'conflictNewerWins', write: 'campaign' });
			expect(decision.dates!.dynamics! > decision.dates!.campaign!).toBe(true);
		});

		it('the newer Campaign change wins over an older Dynamics change', async () => {
			const wf = workflow({ direction: 'bidirectional' });
			const a = await disagreeingPair(wf);
			const base = Math.floor((Date.now() + 60_000) / 1000) * 1000;
			await at(base, () => fx.dataverse.editRecord('contact', a.id, { donotemail: false }));
			await at(base + 5000, () => fx.campaign.edit('profile', a.pkey, { blackListEmail: true }));
			const { summary } = await cycle(wf);
			expect(summary.conflicts).toMatchObject({ total: 1, campaignWon: 1 });
			expect((await contact(a.id)).donotemail).toBe(true);
			expect((await profile(a.pkey)).blackListEmail).toBe(true);
		});

		it('on a tie, opted out wins', async () => {
			const wf = workflow({ direction: 'bidirectional' });
			const a = await disagreeingPair(wf);
			const instant = Math.floor((Date.now() + 120_000) / 1000) * 1000;
			// Dynamics opts back in and Campaign opts out at the same instant.
			await at(instant, async () => {
				await fx.dataverse.editRecord('contact', a.id, { donotemail: false });
				await fx.campaign.edit('profile', a.pkey, { blackListEmail: true });
			});
			const { summary, records } = await cycle(wf);
			expect(summary.conflicts).toMatchObject({ total: 1, optedOutWon: 1 });
			expect((await contact(a.id)).donotemail).toBe(true);
			expect((await profile(a.pkey)).blackListEmail).toBe(true);
			const decision = records
				.find((r) => r.contactid === a.id)!
				.decisions.find((d) => d.campaignField === 'denyListEmail');
			expect(decision).toMatchObject({
				write: 'dynamics',
				value: true,
				rule: 'conflictOptedOutWins',
				dates: {
					dynamics: new Date(instant).toISOString(),
					campaign: new Date(instant).toISOString(),
				},
			});
		});
	});

	describe('No echo loops', () => {
		it('after a change converges, the next two cycles write nothing', async () => {
			const a = await pair();
			const b = await pair({}, { blackListPhone: true });
			const wf = workflow({ direction: 'bidirectional' });
			const first = await cycle(wf);
			expect(first.summary.writtenToDynamics).toBe(1);
			await fx.dataverse.editRecord('contact', a.id, { donotemail: true });
			await fx.campaign.edit('profile', b.pkey, { blackListEmail: true });
			const converged = await cycle(wf);
			expect(converged.summary).toMatchObject({ writtenToDynamics: 1, writtenToCampaign: 1 });
			await fx.dataverse.resetCounters();
			await fx.campaign.resetCounters();
			for (let i = 0; i < 2; i++) {
				const quiet = await cycle(wf);
				expect(quiet.summary).toMatchObject({ writtenToDynamics: 0, writtenToCampaign: 0 });
				expect(quiet.records).toEqual([]);
			}
			const writes = [
				...Object.entries(await fx.dataverse.counters()),
				...Object.entries(await fx.campaign.counters()),
			].filter(([route]) => /^(PATCH|POST|DELETE)/.test(route) && !/token/.test(route));
			expect(writes).toEqual([]);
		});
	});

	describe('Records without a partner', () => {
		it('reports a profile whose contact does not exist, and writes nothing', async () => {
			const [lonely] = await fx.campaign.insert('profile', [
				{
					email: 'x@example.com',
					externalId: '6a1f0c2e-0000-4000-8000-000000000001',
					blackList: true,
				},
			]);
			const { summary, records } = await cycle(
				workflow({
					direction: 'bidirectional',
					mappings: { mapping: [{ dynamicsField: 'donotbulkemail', campaignField: 'denyList' }] },
				}),
			);
			expect(summary).toMatchObject({ profilesWithoutContact: 1, errors: 0 });
			expect(records).toEqual([
				expect.objectContaining({
					contactid: '6a1f0c2e-0000-4000-8000-000000000001',
					profilePKey: lonely.PKey,
					outcome: 'profileWithoutContact',
				}),
			]);
			expect(records[0].decisions[0]).toMatchObject({ write: 'none', rule: 'unpaired' });
		});

		it('forgets a contact deleted in Dynamics 365 and leaves its profile alone', async () => {
			const { id, pkey } = await pair({ donotemail: true }, { blackListEmail: true });
			const wf = workflow({ direction: 'bidirectional' });
			await cycle(wf);
			expect(remembered(wf)).toContain(id);
			await fx.dataverse.deleteRecord('contact', id);
			const { summary, records } = await cycle(wf);
			expect(summary).toMatchObject({ contactsDeleted: 1, writtenToCampaign: 0, errors: 0 });
			expect(records).toEqual([
				expect.objectContaining({ contactid: id, outcome: 'contactDeleted' }),
			]);
			expect((await profile(pkey)).blackListEmail).toBe(true);
			expect(remembered(wf)).not.toContain(id);
		});
	});

	describe('First cycle, bounded (#14)', () => {
		it('pairs every profile a page at a time over several runs, each reading at most "Max Records per Run" profiles, and then reads only changes', async () => {
			const pairs = [];
			for (let i = 0; i < 14; i++) pairs.push(await pair({ donotemail: i % 3 === 0 }));
			const wf = workflow({
				direction: 'bidirectional',
				options: { pageSize: 2, maxRecordsPerRun: 5 },
			});
			const progress: Array<{ profilesRead: number; finished: boolean } | undefined> = [];
			for (let i = 0; i < 3; i++) {
				const { summary, error } = await cycle(wf);
				expect(error).toBeUndefined();
				expect(summary.profilesRead).toBeLessThanOrEqual(6);
				progress.push(summary.fullPass);
			}
			// Pages of 2 until at least 5 profiles were read in the run.
			expect(progress).toEqual([
				{ profilesRead: 6, finished: false },
				{ profilesRead: 12, finished: false },
				{ profilesRead: 14, finished: true },
			]);
			for (const [i, p] of pairs.entries()) {
				expect((await profile(p.pkey)).blackListEmail).toBe(i % 3 === 0);
			}
			// Only the pairs where something is opted out are remembered.
			expect(remembered(wf).sort()).toEqual(
				pairs
					.filter((_, i) => i % 3 === 0)
					.map((p) => p.id)
					.sort(),
			);
			// A change made during the pass, then the next cycles read changes only.
			await fx.dataverse.editRecord('contact', pairs[1].id, { donotphone: true });
			const next = await cycle(wf);
			expect(next.summary.fullPass).toBeUndefined();
			expect(next.summary).toMatchObject({ contactsRead: 1, writtenToCampaign: 1 });
			expect((await profile(pairs[1].pkey)).blackListPhone).toBe(true);
		});
	});

	describe('Incremental runs, bounded (#14)', () => {
		/** `count` contacts and their profiles, seeded in two requests. */
		async function pairs(
			count: number,
			contactFlags: IDataObject = {},
			profileFlags: IDataObject = {},
		) {
			const ids = await fx.dataverse.seed(
				'contact',
				Array.from({ length: count }, (_, i) => ({
					firstname: `P${i}`,
					lastname: 'Bulk',
					donotemail: false,
					donotphone: false,
					...contactFlags,
				})),
			);
			const profiles = await fx.campaign.insert(
				'profile',
				ids.map((id) => ({
					email: `${id}@example.com`,
					externalId: id,
					blackListEmail: false,
					blackListPhone: false,
					...profileFlags,
				})),
			);
			return ids.map((id, i) => ({ id, pkey: profiles[i].PKey }));
		}

		/** Writes of the node (PATCH), by route. */
		async function writes(): Promise<number> {
			return [
				...Object.entries(await fx.dataverse.counters()),
				...Object.entries(await fx.campaign.counters()),
			]
				.filter(([route]) => /^PATCH/.test(route))
				.reduce((n, [, count]) => n + count, 0);
		}

		/** Cycles until the reads of changes are done (or `max` cycles); their summaries. */
		async function catchUp(wf: TestWorkflow, max = 12): Promise<OptInOutSummary[]> {
			const summaries: OptInOutSummary[] = [];
			for (let i = 0; i < max; i++) {
				const { summary, error } = await cycle(wf);
				expect(error).toBeUndefined();
				summaries.push(summary);
				if (summary.incremental?.finished) return summaries;
			}
			throw new Error(`not caught up after ${max} cycles: ${JSON.stringify(summaries.at(-1))}`);
		}

		it('reads the contacts of profiles changed only in Campaign 50 ids a request, not one request each', async () => {
			const n = 120;
			const list = await pairs(n);
			const wf = workflow({ direction: 'bidirectional' });
			await cycle(wf);
			for (const p of list) await fx.campaign.edit('profile', p.pkey, { blackListEmail: true });
			await fx.dataverse.resetCounters();
			const { summary, error } = await cycle(wf);
			expect(error).toBeUndefined();
			expect(summary).toMatchObject({ profilesRead: n, writtenToDynamics: n, errors: 0 });
			const counters = await fx.dataverse.counters();
			// One delta read without changes, then ceil(120 / 50) = 3 queries by id.
			expect(counters['GET contacts']).toBeLessThanOrEqual(Math.ceil(n / 50) + 1);
			for (const p of list) expect((await contact(p.id)).donotemail).toBe(true);
		});

		it('spreads a bulk change larger than "Max Records per Run" over several runs, each change applied once, the backlog shown', async () => {
			const list = await pairs(30);
			const wf = workflow({
				direction: 'bidirectional',
				options: { pageSize: 5, maxRecordsPerRun: 10 },
			});
			expect((await catchUpFullPass(wf)).length).toBeGreaterThan(1);
			// A bulk update on each side: every contact opts out of email, every profile of phone.
			for (const p of list) await fx.dataverse.editRecord('contact', p.id, { donotemail: true });
			for (const p of list) await fx.campaign.edit('profile', p.pkey, { blackListPhone: true });
			await fx.dataverse.resetCounters();
			await fx.campaign.resetCounters();
			const runs = await catchUp(wf);
			expect(runs.length).toBeGreaterThanOrEqual(3);
			for (const run of runs) {
				expect(run.contactsRead).toBeLessThanOrEqual(10);
				expect(run.profilesRead).toBeLessThanOrEqual(10);
			}
			expect(runs[0].incremental).toEqual({
				finished: false,
				backlog: 20,
				contactsPending: true,
				profilesPending: true,
			});
			expect(runs.at(-1)!.incremental).toMatchObject({ finished: true, backlog: 0 });
			// Each flag written once on the side that had not changed it: 30 + 30 writes in all.
			expect(await writes()).toBe(60);
			for (const p of list) {
				expect(await contact(p.id)).toMatchObject({ donotemail: true, donotphone: true });
				expect(await profile(p.pkey)).toMatchObject({ blackListEmail: true, blackListPhone: true });
			}
			// Then quiet: the node's own writes come back once as changes, and nothing is written.
			await catchUp(wf);
			const quiet = await catchUp(wf);
			expect(quiet.at(-1)).toMatchObject({ contactsRead: 0, profilesRead: 0 });
			expect(await writes()).toBe(60);
		});

		it('misses no profile changed again during a catch-up, and never reverses an opt-out made during it', async () => {
			// Everyone opted out of email on both sides, then a bulk opt-in in Campaign.
			const list = await pairs(30, { donotemail: true }, { blackListEmail: true });
			const wf = workflow({
				direction: 'bidirectional',
				options: { pageSize: 5, maxRecordsPerRun: 10 },
			});
			await catchUpFullPass(wf);
			for (const p of list) await fx.campaign.edit('profile', p.pkey, { blackListEmail: false });
			const first = await cycle(wf);
			expect(first.error).toBeUndefined();
			expect(first.summary.profilesRead).toBeLessThanOrEqual(10);
			expect(first.summary.incremental).toMatchObject({ finished: false, profilesPending: true });
			// Newest first: the last profiles edited were handled, the first ones wait.
			const handled = list[29];
			const waiting = list[0];
			expect((await contact(handled.id)).donotemail).toBe(false);
			expect((await contact(waiting.id)).donotemail).toBe(true);
			// During the catch-up: one handled profile opts out again, one waiting profile opts out
			// again, and a handled one changes another flag.
			await fx.campaign.edit('profile', handled.pkey, { blackListEmail: true });
			await fx.campaign.edit('profile', waiting.pkey, { blackListEmail: true });
			await fx.campaign.edit('profile', list[28].pkey, { blackListPhone: true });
			await catchUp(wf);
			await catchUp(wf);
			for (const p of [handled, waiting]) {
				expect((await contact(p.id)).donotemail).toBe(true);
				expect((await profile(p.pkey)).blackListEmail).toBe(true);
			}
			expect((await contact(list[28].id)).donotphone).toBe(true);
			// The others' opt-in was observed in Campaign and reached Dynamics 365.
			for (const p of list.slice(1, 28)) expect((await contact(p.id)).donotemail).toBe(false);
		});

		it('resumes a catch-up whose last page was deleted meanwhile, skipping no profile', async () => {
			const list = await pairs(30);
			const wf = workflow({
				direction: 'bidirectional',
				options: { pageSize: 5, maxRecordsPerRun: 5 },
			});
			await catchUpFullPass(wf);
			for (const p of list) await fx.campaign.edit('profile', p.pkey, { blackListEmail: true });
			await cycle(wf);
			await cycle(wf);
			// Newest first: the second run handled list[24..20]; they go away in Campaign.
			for (const p of list.slice(20, 25)) await fx.campaign.remove('profile', p.pkey);
			await catchUp(wf);
			for (const p of [...list.slice(0, 20), ...list.slice(25)]) {
				expect((await contact(p.id)).donotemail).toBe(true);
			}
		});

		it('bounds a modified-date read too and resumes at its cursor', async () => {
			const { tables } = await fx.dataverse.tables();
			const contactTable = tables.find((t) => t.logicalName === 'contact')!;
			await fx.dataverse.defineTables([{ ...contactTable, changeTrackingEnabled: false }]);
			const list = await pairs(25);
			const wf = workflow({
				direction: 'bidirectional',
				options: { pageSize: 5, maxRecordsPerRun: 10 },
			});
			await catchUpFullPass(wf);
			for (const p of list) await fx.dataverse.editRecord('contact', p.id, { donotphone: true });
			await fx.campaign.resetCounters();
			const runs = await catchUp(wf);
			expect(runs[0]).toMatchObject({ changeDetection: 'modifiedOn', contactsRead: 10 });
			// The profiles sharing the newest date at the pass's start are read once more, harmlessly.
			expect(runs[0].incremental).toMatchObject({
				finished: false,
				backlog: 15,
				contactsPending: true,
			});
			for (const p of list) expect((await profile(p.pkey)).blackListPhone).toBe(true);
			expect(await writes()).toBe(25);
		});

		/** Cycles through a full pass; its summaries. */
		async function catchUpFullPass(wf: TestWorkflow): Promise<OptInOutSummary[]> {
			const summaries: OptInOutSummary[] = [];
			for (let i = 0; i < 20; i++) {
				const { summary, error } = await cycle(wf);
				expect(error).toBeUndefined();
				summaries.push(summary);
				if (summary.fullPass?.finished) return summaries;
			}
			throw new Error('full pass not finished');
		}
	});

	describe('Pairing by the Campaign key (#14)', () => {
		it('pairs contacts and profiles through the key and filter chosen in the settings', async () => {
			const resources = await fx.campaign.resources();
			const profileDefinition = resources.find((r) => r.name === 'profile')!;
			await fx.campaign.defineResource({
				...profileDefinition,
				fields: [
					...profileDefinition.fields,
					{ name: 'cusCrmReference', type: 'string', label: 'CRM reference', length: 64 },
				],
				filters: [
					...(profileDefinition.filters ?? []),
					{ name: 'crmReference', field: 'cusCrmReference', label: 'By CRM reference' },
				],
			});
			const [id] = await fx.dataverse.seed('contact', [
				{ firstname: 'Key', donotemail: true, donotphone: false },
			]);
			const [p] = await fx.campaign.insert('profile', [
				{ email: 'key@example.com', externalId: 'legacy-7', cusCrmReference: id },
			]);
			const wf = workflow({
				direction: 'bidirectional',
				campaignKey: 'cusCrmReference',
				campaignKeyFilter: 'crmReference',
			});
			const { summary } = await cycle(wf);
			expect(summary).toMatchObject({ pairsChecked: 1, writtenToCampaign: 1, errors: 0 });
			expect((await profile(p.PKey)).blackListEmail).toBe(true);
			// A later change of that contact finds the profile through the same filter.
			await fx.dataverse.editRecord('contact', id, { donotphone: true });
			expect((await cycle(wf)).summary).toMatchObject({ writtenToCampaign: 1, errors: 0 });
			expect((await profile(p.PKey)).blackListPhone).toBe(true);
		});
	});

	it('works as soon as the administrator publishes the key filter a run found missing (its metadata read again, not kept 15 minutes)', async () => {
		const resources = await fx.campaign.resources();
		const profileDefinition = resources.find((r) => r.name === 'profile')!;
		const field = {
			name: 'cusCrmReference',
			type: 'string' as const,
			label: 'CRM reference',
			length: 64,
		};
		await fx.campaign.defineResource({
			...profileDefinition,
			fields: [...profileDefinition.fields, field],
		});
		const [id] = await fx.dataverse.seed('contact', [
			{ firstname: 'Late', donotemail: true, donotphone: false },
		]);
		const [p] = await fx.campaign.insert('profile', [
			{ email: 'late@example.com', externalId: 'legacy-8', cusCrmReference: id },
		]);
		const wf = workflow({
			direction: 'bidirectional',
			campaignKey: 'cusCrmReference',
			campaignKeyFilter: 'crmReference',
		});
		expect(String((await cycle(wf)).error?.message)).toMatch(/has no filter "crmReference"/);
		await fx.campaign.defineResource({
			...profileDefinition,
			fields: [...profileDefinition.fields, field],
			filters: [
				...(profileDefinition.filters ?? []),
				{ name: 'crmReference', field: 'cusCrmReference', label: 'By CRM reference' },
			],
		});
		const { summary, error } = await cycle(wf);
		expect(error).toBeUndefined();
		expect(summary).toMatchObject({ pairsChecked: 1, writtenToCampaign: 1, errors: 0 });
		expect((await profile(p.PKey)).blackListEmail).toBe(true);
	});

	describe('Dataverse as Microsoft documents it (#15)', () => {
		it('keeps its delta link when a read without changes answers an empty body, and reads only changes after', async () => {
			const first = await pair();
			await pair();
			await pair();
			const wf = workflow({ direction: 'bidirectional' });
			expect((await cycle(wf)).summary.contactsRead).toBe(3);
			await fx.dataverse.setBehavior({ emptyBodyWithoutChanges: true });
			try {
				expect((await cycle(wf)).summary).toMatchObject({ contactsRead: 0, errors: 0 });
				await fx.dataverse.editRecord('contact', first.id, { donotemail: true });
				const { summary } = await cycle(wf);
				expect(summary).toMatchObject({ contactsRead: 1, writtenToCampaign: 1, errors: 0 });
				expect((await profile(first.pkey)).blackListEmail).toBe(true);
			} finally {
				await fx.dataverse.setBehavior({});
			}
		});
	});

	describe('Per-record errors', () => {
		async function duplicatedProfile() {
			const good = await pair();
			const bad = await pair({ donotemail: true }, { blackListEmail: true });
			await fx.campaign.insert('profile', [{ email: 'copy@example.com', externalId: bad.id }], {
				bypassUnique: true,
			});
			await fx.campaign.edit('profile', good.pkey, { blackListPhone: true });
			return { good, bad };
		}

		it('sends a failed record to the error output and still writes the others', async () => {
			const { good, bad } = await duplicatedProfile();
			const wf = workflow({ direction: 'bidirectional' }, { onError: 'continueErrorOutput' });
			const result = await wf.run('Schedule');
			const failed = result.output(SYNC, 1);
			// n8n's error output keeps { error, details }: the message and which record failed.
			expect(failed).toHaveLength(1);
			expect(String(failed[0].error)).toMatch(/Several Campaign profiles have externalId/);
			expect(String(failed[0].error)).toContain(bad.id);
			expect(Object.keys(failed[0]).sort()).toEqual(['details', 'error']);
			expect(failed[0].details).toMatchObject({ contactid: bad.id, outcome: 'failed' });
			expect((await contact(good.id)).donotphone).toBe(true);
		});

		it('without error output, writes the good records, then fails naming the bad one', async () => {
			const { good, bad } = await duplicatedProfile();
			const { error } = await cycle(workflow({ direction: 'bidirectional' }));
			expect(error?.message).toBe(
				`1 of 2 contact(s) could not be synchronized; the others were written. First: Several Campaign profiles have externalId ${bad.id}: keep one, then the flags sync again`,
			);
			expect((error as Error & { description?: string }).description).toContain(
				`- contact ${bad.id}: Several Campaign profiles`,
			);
			expect((await contact(good.id)).donotphone).toBe(true);
		});
	});

	describe('Saved state', () => {
		it('refuses a saved state of an unknown version, and leaves it as it was', async () => {
			const { id, pkey } = await pair();
			const wf = workflow({ direction: 'bidirectional' });
			await cycle(wf);
			await fx.campaign.edit('profile', pkey, { blackListEmail: true });
			const stored = { ...(wf.staticData(SYNC).optInOut as IDataObject), version: 4 };
			wf.staticData(SYNC).optInOut = stored;
			const { error } = await cycle(wf);
			expect(error?.message).toBe(
				"The Opt-In/Out Sync node's saved state has version 4, written by a newer version of this package. Update the package on this n8n.",
			);
			expect(wf.staticData(SYNC).optInOut).toEqual(stored);
			// Nothing moved (the Campaign opt-out waits for a cycle that can read its memory).
			expect((await contact(id)).donotemail).toBe(false);
		});
	});

	describe('Throttling', () => {
		it('converges when Dynamics 365 answers 429 mid-cycle', async () => {
			const { id, pkey } = await pair();
			const wf = workflow({ direction: 'bidirectional' });
			await cycle(wf);
			await fx.campaign.edit('profile', pkey, { blackListEmail: true });
			await fx.dataverse.setFaults({ script: [{ kind: '429', route: 'contacts', retryAfter: 1 }] });
			const { summary, error } = await cycle(wf);
			expect(error).toBeUndefined();
			expect(summary).toMatchObject({ writtenToDynamics: 1, errors: 0 });
			expect((await contact(id)).donotemail).toBe(true);
		});

		it('converges when Campaign answers 429 mid-cycle', async () => {
			const { id, pkey } = await pair();
			const wf = workflow({ direction: 'bidirectional' });
			await cycle(wf);
			await fx.dataverse.editRecord('contact', id, { donotphone: true });
			await fx.campaign.setFaults({
				script: [{ kind: '429', route: 'campaign:record', retryAfter: 1 }],
			});
			const { summary, error } = await cycle(wf);
			expect(error).toBeUndefined();
			expect(summary).toMatchObject({ writtenToCampaign: 1, errors: 0 });
			expect((await profile(pkey)).blackListPhone).toBe(true);
		});
	});

	describe('Template', () => {
		it('templates/opt-in-out.json, set to Bidirectional, runs against the sandboxes and syncs both ways', async () => {
			const template = JSON.parse(
				readFileSync(path.join(__dirname, '../../templates/opt-in-out.json'), 'utf8'),
			) as WorkflowJson & { nodes: INode[] };
			const sync = template.nodes.find((n) => n.type.endsWith('.optInOutSync'))!;
			// Shipped Disabled (test/nodes/templates.test.ts); an admin chooses the direction.
			sync.parameters.direction = 'bidirectional';
			sync.credentials = {
				dynamics365Api: { id: '1', name: 'Dynamics 365 (sandbox)' },
				adobeCampaignStandardApi: { id: '2', name: 'Campaign (sandbox)' },
			};
			const a = await pair();
			const b = await pair();
			const wf = fx.workflow(template);
			const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger')!;
			const first = await wf.run(trigger.name);
			expect(first.status).toBe('success');
			await fx.dataverse.editRecord('contact', a.id, { donotfax: true });
			await fx.campaign.edit('profile', b.pkey, { blackListPostalMail: true });
			const second = await wf.run(trigger.name);
			const summary = second.output(sync.name).find((i) => '_summary' in i)!
				._summary as unknown as OptInOutSummary;
			expect(summary).toMatchObject({ writtenToDynamics: 1, writtenToCampaign: 1, errors: 0 });
			expect((await profile(a.pkey)).blackListFax).toBe(true);
			expect((await contact(b.id)).donotpostalmail).toBe(true);
		});
	});
});
