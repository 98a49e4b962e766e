/**
 * A Dynamics lookup mapped to a Campaign link (issue #15): loyalty cards (`new_loyaltycard`, whose
 * `new_contactid` looks up a contact) to `cusLoyaltyCard`, whose `profile` links to the profile
 * keyed by the contact's id in `externalId`.
 */
import { clearProcessCaches } from '../../nodes/shared/clients';
import { useNodeFixture } from './fixture';
import {
	campaignWrites,
	results,
	runUntilQuiet,
	summaryOf,
	syncWorkflow,
	type FieldRow,
} from './sync-chain';

const CARD_FIELDS: FieldRow[] = [
	{ dynamicsField: 'new_cardnumber', campaignField: 'cardNumber' },
	{ dynamicsField: 'new_contactid', campaignField: 'profile' },
];

describe('Campaign Upsert: a Dynamics lookup mapped to a Campaign link', () => {
	const fx = useNodeFixture({}, {}, async (f) => {
		await f.dataverse.reset({ demoRecords: 0 });
		await f.campaign.reset({ profiles: 0 });
		await f.campaign.setLatency(0);
	});

	function setup(fields: FieldRow[] = CARD_FIELDS) {
		const { json, names } = syncWorkflow({
			table: 'new_loyaltycard',
			campaignResource: 'cusLoyaltyCard',
			campaignKey: 'crmId',
			fields,
			errorOutput: true,
		});
		return { wf: fx.workflow(json), names };
	}

	/** Contacts in Dynamics and their profiles in Campaign (keyed by the contact id); PKeys by id. */
	async function contactsWithProfiles(count: number) {
		const ids = await fx.dataverse.seed(
			'contact',
			Array.from({ length: count }, (_, i) => ({ firstname: `C${i}`, lastname: 'Linked' })),
		);
		const saved = await fx.campaign.insert(
			'profile',
			ids.map((id, i) => ({ externalId: id, firstName: `C${i}` })),
		);
		return { ids, pKeys: new Map(ids.map((id, i) => [id, saved[i].PKey])) };
	}

	function cards(contactIds: Array<string | null>) {
		return fx.dataverse.seed(
			'new_loyaltycard',
			contactIds.map((contact, i) => ({
				new_name: `Card ${i}`,
				new_cardnumber: `N-${i}`,
				new_contactid: contact === null ? null : { id: contact, table: 'contact' },
			})),
		);
	}

	async function written() {
		const dump = await fx.campaign.dump('cusLoyaltyCard');
		return new Map(dump.records.map((r) => [String(r.crmId), r]));
	}

	it('writes each link to the profile holding the looked-up contact id', async () => {
		const { ids, pKeys } = await contactsWithProfiles(2);
		const cardIds = await cards([ids[0], ids[1], ids[0]]);
		const { wf, names } = setup();
		const [run] = await runUntilQuiet(wf, names.trigger);
		expect(results(run, names.upsert).map((r) => r.outcome)).toEqual([
			'created',
			'created',
			'created',
		]);
		const saved = await written();
		expect(saved.get(cardIds[0])).toMatchObject({ cardNumber: 'N-0', profile: pKeys.get(ids[0]) });
		expect(saved.get(cardIds[1])).toMatchObject({ profile: pKeys.get(ids[1]) });
		expect(saved.get(cardIds[2])).toMatchObject({ profile: pKeys.get(ids[0]) });
	});

	it('looks each linked id up once per run, however many records point to it', async () => {
		/** Campaign list and filter requests of one initial load of five cards. */
		async function lookupsFor(pointTo: (ids: string[]) => string[]) {
			await fx.dataverse.reset({ demoRecords: 0 });
			await fx.campaign.reset({ profiles: 0 });
			clearProcessCaches();
			const { ids } = await contactsWithProfiles(5);
			await cards(pointTo(ids));
			await fx.campaign.resetCounters();
			const { wf, names } = setup();
			const [run] = await runUntilQuiet(wf, names.trigger);
			expect(summaryOf(run, names.upsert)).toMatchObject({ created: 5 });
			return (await fx.campaign.counters())['GET campaign:list'] ?? 0;
		}
		const oneContact = await lookupsFor((ids) => ids.map(() => ids[0]));
		const fiveContacts = await lookupsFor((ids) => ids);
		// Everything else (the cards' own lookups, checks of the filters) is the same in both runs.
		expect(fiveContacts - oneContact).toBe(4);
	});

	it('fails only the record whose linked record is missing or duplicated, naming it, the field and the id', async () => {
		const { ids } = await contactsWithProfiles(2);
		const [orphan] = await fx.dataverse.seed('contact', [{ firstname: 'No', lastname: 'Profile' }]);
		// Two profiles for one contact: the link cannot choose.
		await fx.campaign.insert('profile', [{ externalId: ids[1], firstName: 'Copy' }], {
			bypassUnique: true,
		});
		const cardIds = await cards([ids[0], orphan, ids[1]]);
		const { wf, names } = setup();
		const run = (await wf.pollAndRun(names.trigger))!;
		expect(run.error).toBeUndefined();

		expect(results(run, names.upsert).map((r) => [r.id, r.outcome])).toEqual([
			[cardIds[0], 'created'],
		]);
		const failed = results(run, names.upsert, 1);
		expect(failed.map((f) => f.details)).toMatchObject([
			{ id: cardIds[1], outcome: 'failed', errorCode: 'LINKED_RECORD_NOT_FOUND' },
			{ id: cardIds[2], outcome: 'failed', errorCode: 'LINKED_RECORD_DUPLICATE' },
		]);
		for (const [i, linked] of [
			[0, orphan],
			[1, ids[1]],
		] as const) {
			const message = String(failed[i].error);
			expect(message).toContain(cardIds[i + 1]);
			expect(message).toContain('"profile"');
			expect(message).toContain('new_contactid');
			expect(message).toContain(linked);
		}
		expect(String(failed[0].error)).toContain(`"${orphan}" (a contact in Dynamics)`);
		const saved = await written();
		expect([...saved.keys()]).toEqual([cardIds[0]]);
	});

	it('fails only the record whose linked record could not be looked up, with the cause', async () => {
		const { ids } = await contactsWithProfiles(1);
		const [cardId] = await cards([ids[0]]);
		const { wf, names } = setup();
		// The run's Campaign lists: the card filter's check (no card yet), the profile filter's
		// check (a sample and its lookup), the card's lookup, then the link's, which fails for good.
		await fx.campaign.setFaults({
			script: Array.from({ length: 6 }, (_, i) => ({
				kind: '500' as const,
				route: 'campaign:list',
				after: i === 0 ? 4 : 0,
			})),
		});
		const run = (await wf.pollAndRun(names.trigger))!;
		const [failed] = results(run, names.upsert, 1);
		expect(failed.details).toMatchObject({ id: cardId, outcome: 'failed' });
		expect(String(failed.error)).toMatch(
			new RegExp(
				`${cardId}.*"profile".*new_contactid.*looking up the linked profile with externalId = "${ids[0]}" failed: Campaign answered 500`,
			),
		);
		expect((await written()).size).toBe(0);
	});

	it('looks a link up only when it is written: not on updates when its Apply Updates is off', async () => {
		const { ids, pKeys } = await contactsWithProfiles(1);
		const [orphan] = await fx.dataverse.seed('contact', [{ firstname: 'No', lastname: 'Profile' }]);
		const [cardId] = await cards([ids[0]]);
		const { wf, names } = setup([
			{ dynamicsField: 'new_cardnumber', campaignField: 'cardNumber' },
			{ dynamicsField: 'new_contactid', campaignField: 'profile', applyUpdates: false },
		]);
		await runUntilQuiet(wf, names.trigger);
		await fx.dataverse.editRecord('new_loyaltycard', cardId, {
			new_contactid: { id: orphan, table: 'contact' },
			new_cardnumber: 'N-new',
		});
		const [run] = await runUntilQuiet(wf, names.trigger);
		expect(results(run, names.upsert)).toMatchObject([
			{ id: cardId, outcome: 'updated', fields: ['cardNumber'] },
		]);
		expect((await written()).get(cardId)).toMatchObject({
			cardNumber: 'N-new',
			profile: pKeys.get(ids[0]),
		});
	});

	it('leaves the link as is when the lookup is cleared in Dynamics, and says so', async () => {
		const { ids, pKeys } = await contactsWithProfiles(1);
		const [cardId] = await cards([ids[0]]);
		const { wf, names } = setup();
		await runUntilQuiet(wf, names.trigger);

		await fx.dataverse.editRecord('new_loyaltycard', cardId, {
			new_contactid: null,
			new_cardnumber: 'N-new',
		});
		const [run] = await runUntilQuiet(wf, names.trigger);
		const [result] = results(run, names.upsert);
		expect(result).toMatchObject({ id: cardId, outcome: 'updated', fields: ['cardNumber'] });
		expect(String((result.warnings as string[])[0])).toMatch(
			/"profile".*new_contactid.*empty in Dynamics.*left as is/,
		);
		expect((await written()).get(cardId)).toMatchObject({
			cardNumber: 'N-new',
			profile: pKeys.get(ids[0]),
		});
	});

	it('offers the link among the Campaign fields, with its target, but never as the key', async () => {
		const { wf, names } = setup();
		const fields = await wf.loadOptions(names.mapping, 'getCampaignFields');
		expect(fields.find((o) => o.value === 'profile')?.description).toBe('Type: link to profile');
		const keys = await wf.loadOptions(names.mapping, 'getCampaignKeyFields');
		expect(keys.map((o) => o.value)).not.toContain('profile');
	});

	it('refuses a Linked Record Key no filter finds records by, naming the setting, before any write', async () => {
		const { ids } = await contactsWithProfiles(1);
		await cards([ids[0]]);
		await fx.campaign.resetCounters();
		const { wf, names } = setup([
			{ dynamicsField: 'new_contactid', campaignField: 'profile', linkedRecordKey: 'firstName' },
		]);
		const run = (await wf.pollAndRun(names.trigger))!;
		expect(run.status).toBe('error');
		expect(run.error?.message).toMatch(
			/"profile\.firstName" has no filter named after it.*Linked Record Key of the Campaign field "profile"/,
		);
		expect(campaignWrites(await fx.campaign.counters())).toBe(0);
	});

	it('compares a link by the linked record key on Campaign v8, whose PKeys change between answers', async () => {
		await fx.campaign.setOptions({ flavor: 'v8' });
		const { ids, pKeys } = await contactsWithProfiles(2);
		const [cardId] = await cards([ids[0]]);
		const { wf, names } = setup();
		await runUntilQuiet(wf, names.trigger);
		expect((await written()).get(cardId)).toMatchObject({ profile: pKeys.get(ids[0]) });

		// A change to a column that is not mapped: the link points where it should, nothing is written.
		await fx.dataverse.editRecord('new_loyaltycard', cardId, { new_name: 'Renamed' });
		const [same] = await runUntilQuiet(wf, names.trigger);
		expect(results(same, names.upsert)).toMatchObject([{ id: cardId, outcome: 'unchanged' }]);

		await fx.dataverse.editRecord('new_loyaltycard', cardId, {
			new_contactid: { id: ids[1], table: 'contact' },
		});
		const [moved] = await runUntilQuiet(wf, names.trigger);
		expect(results(moved, names.upsert)).toMatchObject([
			{ id: cardId, outcome: 'updated', fields: ['profile'] },
		]);
		expect((await written()).get(cardId)).toMatchObject({ profile: pKeys.get(ids[1]) });
	});
});
