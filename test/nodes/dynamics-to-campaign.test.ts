import fs from 'node:fs';
import path from 'node:path';

import { loadDemo } from '../../sandbox/n8n/templates';
import type { ExecutionResult, TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';
import { useNodeFixture } from './fixture';
import { expectedProfile, wrongFields } from '../support/template-oracle';

const TEMPLATE = path.join(__dirname, '../../templates/dynamics-to-campaign.json');
const CONTACTS = 'Contacts: Dynamics 365 Trigger';
const UPSERT = 'Contacts: Campaign Upsert';
const CARDS = 'Loyalty Cards: Dynamics 365 Trigger';

function loadTemplate(): WorkflowJson {
	return JSON.parse(fs.readFileSync(TEMPLATE, 'utf8')) as WorkflowJson;
}

async function runUntilQuiet(wf: TestWorkflow, trigger: string, max = 10) {
	const runs: ExecutionResult[] = [];
	for (let i = 0; i < max; i++) {
		const run = await wf.pollAndRun(trigger);
		if (!run) return runs;
		expect(run.error).toBeUndefined();
		runs.push(run);
	}
	throw new Error(`${trigger} still had changes after ${max} runs`);
}

describe('Dynamics 365 → Campaign template', () => {
	const fx = useNodeFixture();

	async function profilesByExternalId() {
		const dump = await fx.campaign.dump('profile');
		return new Map(dump.records.map((p) => [String(p.externalId), p as Record<string, unknown>]));
	}

	it('loads every contact into Campaign profiles on the first run (initial load converges)', async () => {
		await fx.dataverse.generate('contact', 40, 21);
		const contacts = (await fx.dataverse.dump('contact')).records;
		const wf = fx.workflow(loadTemplate());
		const runs = await runUntilQuiet(wf, CONTACTS);
		const summary = runs[0].output('Contacts: Campaign Upsert').at(-1)?._summary as Record<
			string,
			number
		>;
		expect(summary).toMatchObject({ created: 40, failed: 0, backlog: 0 });
		const profiles = await profilesByExternalId();
		expect(profiles.size).toBe(40);
		for (const c of contacts) {
			expect(wrongFields(expectedProfile(c), profiles.get(String(c.contactid)))).toEqual([]);
		}
	});

	it('reads only the columns its chain uses ($select, as Microsoft advises), and a column mapped later too', async () => {
		await fx.dataverse.generate('contact', 5, 21);
		const contacts = (await fx.dataverse.dump('contact')).records;
		// the generator fills columns the template does not map (phone, city): they must exist to
		// show that they are not read
		expect(contacts.some((c) => c.telephone1 && c.address1_city)).toBe(true);
		const template = loadTemplate();
		const wf = fx.workflow(template);
		const [run] = await runUntilQuiet(wf, CONTACTS);
		const read = run.output(CONTACTS).filter((item) => item.contactid);
		expect(read).toHaveLength(5);
		for (const item of read) {
			expect(Object.keys(item)).toEqual(
				expect.arrayContaining([
					'firstname',
					'lastname',
					'emailaddress1',
					'birthdate',
					'gendercode',
				]),
			);
			expect(item).not.toHaveProperty('telephone1');
			expect(item).not.toHaveProperty('address1_city');
		}
		// A user maps the phone instead of the last name (the sandbox's profile has no phone
		// field): the next run reads the phone of every contact, and Campaign gets it.
		const mapping = template.nodes.find((n) => n.name === 'Contacts: Apply Field Mapping')!
			.parameters.fieldMappings as { mapping: Array<Record<string, string | boolean>> };
		wf.setParameters('Contacts: Apply Field Mapping', {
			fieldMappings: {
				mapping: mapping.mapping.map((m) =>
					m.dynamicsField === 'lastname' ? { ...m, dynamicsField: 'telephone1' } : m,
				),
			},
		});
		await runUntilQuiet(wf, CONTACTS);
		const profiles = await profilesByExternalId();
		for (const c of contacts) {
			expect(profiles.get(String(c.contactid))?.lastName || null).toBe(c.telephone1 ?? null);
		}
	});

	it('propagates edits and deletes made in Dynamics on the next run', async () => {
		const ids = await fx.dataverse.generate('contact', 10, 5);
		const wf = fx.workflow(loadTemplate());
		await runUntilQuiet(wf, CONTACTS);
		await fx.dataverse.editRecord('contact', ids[1], { firstname: 'Ærøskøbing', gendercode: 2 });
		await fx.dataverse.deleteRecord('contact', ids[2]);
		const [run] = await runUntilQuiet(wf, CONTACTS);
		const results = run.output('Contacts: Campaign Upsert');
		expect(results.filter((r) => r.outcome).map((r) => [r.id, r.outcome])).toEqual([
			[ids[1], 'updated'],
			[ids[2], 'deleted'],
		]);
		const profiles = await profilesByExternalId();
		expect(profiles.get(ids[1])).toMatchObject({ firstName: 'Ærøskøbing', gender: 'female' });
		expect(profiles.has(ids[2])).toBe(false);
		expect(profiles.size).toBe(9);
	});

	it('fails the execution after writing the other records, naming the one that failed; a retry after the fix converges', async () => {
		const ids = await fx.dataverse.generate('contact', 6, 9);
		const wf = fx.workflow(loadTemplate());
		await runUntilQuiet(wf, CONTACTS);
		// A second profile with the same key: Campaign Upsert must not pick one of the two.
		await fx.campaign.insert('profile', [{ externalId: ids[1], email: 'twin@example.com' }], {
			bypassUnique: true,
		} as never);
		await fx.dataverse.editRecord('contact', ids[1], { firstname: 'Twin' });
		await fx.dataverse.editRecord('contact', ids[3], { firstname: 'Single' });

		const items = await wf.poll(CONTACTS);
		const failed = await wf.run(CONTACTS, items!);
		expect(failed.status).toBe('error');
		const error = failed.nodes[UPSERT].error as Error & { description?: string };
		expect(error.message).toMatch(
			/^1 of 2 record\(s\) could not be written to Campaign; the others were written/,
		);
		expect(error.description).toContain(`contact ${ids[1]}`);
		let profiles = await profilesByExternalId();
		expect(profiles.get(ids[3])?.firstName).toBe('Single');

		// The admin removes the stray profile and retries the execution with its input.
		const twin = (await fx.campaign.dump('profile')).records.find(
			(p) => p.externalId === ids[1] && p.email === 'twin@example.com',
		)!;
		await fx.campaign.remove('profile', String(twin.PKey));
		const retried = await wf.run(CONTACTS, items!);
		expect(retried.status).toBe('success');
		profiles = await profilesByExternalId();
		expect(profiles.get(ids[1])?.firstName).toBe('Twin');
		expect(profiles.size).toBe(6);
	});

	it('syncs the custom table of the demo to the custom resource, deleting cards that are filtered out', async () => {
		await fx.dataverse.generate('new_loyaltycard', 12, 3);
		const cards = (await fx.dataverse.dump('new_loyaltycard')).records;
		const active = cards.filter((c) => c.statecode === 0);
		const wf = fx.workflow(loadDemo('dynamicsToCampaign') as WorkflowJson);
		await runUntilQuiet(wf, CARDS);
		let campaignCards = (await fx.campaign.dump('cusLoyaltyCard')).records;
		expect(campaignCards.map((c) => c.crmId).sort()).toEqual(
			active.map((c) => c.new_loyaltycardid).sort(),
		);
		// Deactivating a card filters it out, and the filter deletes it in Campaign.
		const victim = active[0].new_loyaltycardid as string;
		await fx.dataverse.editRecord('new_loyaltycard', victim, { statecode: 1, statuscode: 2 });
		await runUntilQuiet(wf, CARDS);
		campaignCards = (await fx.campaign.dump('cusLoyaltyCard')).records;
		expect(campaignCards.map((c) => c.crmId)).not.toContain(victim);
		expect(campaignCards).toHaveLength(active.length - 1);
	});
});
