/**
 * Our nodes in n8n-core against a Campaign that answers as Adobe documents it, where that differs
 * from what the product was first built to: big tables page only when asked, opt-out fields spelt
 * as the instance spells them, and Campaign v8 tenants migrated from Campaign Standard.
 */
import type { INodeParameters } from 'n8n-workflow';

import { EmailEventsExport } from '../../nodes/EmailEventsExport/EmailEventsExport.node';
import type { ExportSummary } from '../../lib/flows/events-export/flow';
import { SUMMARY_KEY } from '../../nodes/shared/outcomes';
import { OptInOutSync } from '../../nodes/OptInOutSync/OptInOutSync.node';
import type { OptInOutSummary } from '../../lib/flows/opt-in-out/cycle';
import type { FieldDefinition } from '../../sandbox/campaign/types';
import { chain, node, useNodeFixture } from './fixture';
import { results, runUntilQuiet, summaryOf, syncWorkflow } from './sync-chain';

describe('Campaign as Adobe documents it', () => {
	const fx = useNodeFixture(
		{ dataverse: { demoRecords: 0 } },
		{ emailEventsExport: new EmailEventsExport(), optInOutSync: new OptInOutSync() },
	);

	function optInOut(mapping: INodeParameters[], pageSize = 500) {
		return fx.workflow({
			nodes: [
				node('n8n-nodes-base.manualTrigger', 'Start'),
				node('optInOutSync', 'Sync', {
					direction: 'bidirectional',
					mappings: { mapping },
					options: { pageSize },
				}),
			],
			connections: chain('Start', 'Sync'),
		});
	}

	async function cycle(wf: ReturnType<typeof optInOut>) {
		const result = await wf.run('Start');
		const items = result.output('Sync');
		return {
			error: result.nodes.Sync?.error,
			summary: items.find((i) => '_summary' in i)?._summary as unknown as OptInOutSummary,
		};
	}

	/** Contacts and their profiles (externalId = contactid), every flag off on both sides. */
	async function pairs(count: number) {
		const ids = await fx.dataverse.seed(
			'contact',
			Array.from({ length: count }, (_, i) => ({ firstname: `P${i}`, donotemail: false })),
		);
		const profiles = await fx.campaign.insert(
			'profile',
			ids.map((id, i) => ({ externalId: id, email: `p${i}@example.com` })),
		);
		return { ids, pkeys: profiles.map((p) => p.PKey) };
	}

	describe('Big tables', () => {
		it('Opt-In/Out Sync reads every changed profile of a table above the big-table threshold', async () => {
			const { ids, pkeys } = await pairs(24);
			const wf = optInOut([{ dynamicsField: 'donotemail', campaignField: 'denyListEmail' }], 5);
			expect((await cycle(wf)).error).toBeUndefined();
			// Campaign answers lists of a table this large without `next` unless asked to page.
			await fx.campaign.setOptions({ bigTableThreshold: 10 });
			for (const pkey of pkeys.slice(0, 18)) {
				await fx.campaign.edit('profile', pkey, { blackListEmail: true });
			}
			const { summary, error } = await cycle(wf);
			expect(error).toBeUndefined();
			expect(summary.writtenToDynamics).toBe(18);
			const contacts = (await fx.dataverse.dump('contact')).records;
			const optedOut = contacts.filter((c) => c.donotemail === true).map((c) => c.contactid);
			expect(optedOut.sort()).toEqual(ids.slice(0, 18).sort());
		});

		it('Email Events Export reads every event of a table above the big-table threshold', async () => {
			const contactIds = await fx.dataverse.generate('contact', 20, 5);
			const profiles = await fx.campaign.insert(
				'profile',
				contactIds.map((id, i) => ({ externalId: id, email: `e${i}@example.com` })),
			);
			await fx.campaign.simulateDelivery({
				profiles: profiles.map((p) => p.PKey),
				openRate: 1,
				bounceRate: 0,
				clickRate: 0,
				seed: 4,
			});
			const events = (await fx.campaign.dump('cusEmailEvent')).count;
			expect(events).toBe(40);
			await fx.campaign.setOptions({ bigTableThreshold: 10 });
			const wf = fx.workflow({
				nodes: [
					node('n8n-nodes-base.manualTrigger', 'Start'),
					node('emailEventsExport', 'Export', { options: { pageSize: 7 } }),
				],
				connections: chain('Start', 'Export'),
			});
			const result = await wf.run('Start');
			const summary = result.output('Export').find((i) => SUMMARY_KEY in i)?.[
				SUMMARY_KEY
			] as unknown as ExportSummary;
			expect(summary.eventsRead).toBe(40);
			expect(summary.exported.total).toBe(40);
		});
	});

	describe('Opt-out field names', () => {
		/** The profile resource with its opt-out flags spelt another way. */
		async function respell(prefix: 'blockList' | 'none') {
			const [profile] = (await fx.campaign.resources()).filter((r) => r.name === 'profile');
			const fields: FieldDefinition[] = profile.fields
				.filter((f) => !/^blackList/.test(f.name))
				.concat(
					prefix === 'none'
						? []
						: ['', 'Email', 'Phone'].map((s) => ({
								name: `${prefix}${s}`,
								type: 'boolean' as const,
							})),
				);
			await fx.campaign.defineResource({ ...profile, fields });
		}

		it("writes the flag under the instance's own spelling (blockList…) and reads it back", async () => {
			await respell('blockList');
			const { ids, pkeys } = await pairs(2);
			const wf = optInOut([{ dynamicsField: 'donotemail', campaignField: 'denyListEmail' }]);
			expect((await cycle(wf)).error).toBeUndefined();
			await fx.dataverse.editRecord('contact', ids[0], { donotemail: true });
			await fx.campaign.edit('profile', pkeys[1], { blockListEmail: true });
			const { summary, error } = await cycle(wf);
			expect(error).toBeUndefined();
			expect(summary).toMatchObject({ writtenToCampaign: 1, writtenToDynamics: 1 });
			expect((await fx.campaign.read('profile', pkeys[0])).blockListEmail).toBe(true);
			const contacts = (await fx.dataverse.dump('contact')).records;
			expect(contacts.find((c) => c.contactid === ids[1])?.donotemail).toBe(true);
		});

		it('fails clearly, moving nothing, when the profile has none of the spellings', async () => {
			await respell('none');
			const { ids } = await pairs(1);
			await fx.dataverse.editRecord('contact', ids[0], { donotemail: true });
			await fx.campaign.resetCounters();
			const { error } = await cycle(
				optInOut([{ dynamicsField: 'donotemail', campaignField: 'denyListEmail' }]),
			);
			expect(error?.message).toMatch(
				/"denyListEmail" has no field \(looked for blackListEmail, blockListEmail, denyListEmail\)/,
			);
			expect((await fx.campaign.counters())['PATCH campaign:record'] ?? 0).toBe(0);
		});
	});

	describe('Campaign v8 after migration', () => {
		it('creates, updates and deletes through the PKeys and hrefs of the latest answers', async () => {
			await fx.campaign.setOptions({ flavor: 'v8' });
			const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Vee', lastname: 'Eight' }]);
			const { json, names } = syncWorkflow({ advanced: { applyDeletes: true } });
			const wf = fx.workflow(json);
			const [load] = await runUntilQuiet(wf, names.trigger);
			expect(results(load, names.upsert)).toMatchObject([{ id, outcome: 'created' }]);
			await fx.dataverse.editRecord('contact', id, { firstname: 'Vera' });
			const [update] = await runUntilQuiet(wf, names.trigger);
			expect(results(update, names.upsert)).toMatchObject([{ id, outcome: 'updated' }]);
			expect((await fx.campaign.dump('profile')).records[0].firstName).toBe('Vera');
			await fx.dataverse.deleteRecord('contact', id);
			const [removal] = await runUntilQuiet(wf, names.trigger);
			expect(results(removal, names.upsert)).toMatchObject([{ id, outcome: 'deleted' }]);
			expect((await fx.campaign.dump('profile')).count).toBe(0);
		});

		it('turns a refused create into a lookup and an update, though v8 names no cause', async () => {
			await fx.campaign.defineResource({
				name: 'cusMember',
				fields: [
					{ name: 'memberCode', type: 'string', unique: true },
					{ name: 'name', type: 'string' },
				],
				filters: [{ name: 'memberKey', field: 'memberCode' }],
			});
			const ids = await fx.dataverse.seed('contact', [
				{ firstname: 'Known' },
				{ firstname: 'New' },
			]);
			await fx.campaign.insert('cusMember', [{ memberCode: ids[0], name: 'Old' }]);
			await fx.campaign.setOptions({ flavor: 'v8' });
			const { json, names } = syncWorkflow({
				campaignResource: 'cusMember',
				campaignKey: 'memberCode',
				campaignKeyFilter: 'memberKey',
				campaignKeyUnique: true,
				fields: [{ dynamicsField: 'firstname', campaignField: 'name' }],
			});
			const [run] = await runUntilQuiet(fx.workflow(json), names.trigger);
			expect(summaryOf(run, names.upsert)).toMatchObject({ created: 1, updated: 1, failed: 0 });
			const members = (await fx.campaign.dump('cusMember')).records;
			expect(members.map((m) => m.name).sort()).toEqual(['Known', 'New']);
		});
	});
});
