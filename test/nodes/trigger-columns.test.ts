import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { RUN_KEY, type RunReport } from '../../lib/flows/run-report';
import { useNodeFixture } from './fixture';
import { CONTACT_FIELDS, results, runUntilQuiet, syncWorkflow, type FieldRow } from './sync-chain';

const BIRTH_DATE: FieldRow = {
	dynamicsField: 'birthdate',
	campaignField: 'birthDate',
	applyUpdates: false,
};

describe('Dynamics 365 Trigger: Columns changed after the first run', () => {
	const fx = useNodeFixture();

	async function profiles() {
		const dump = await fx.campaign.dump('profile');
		return new Map(dump.records.map((p) => [String(p.externalId), p as IDataObject]));
	}

	describe.each([['changeTracking'], ['modifiedOn']])('with %s', (changeDetection) => {
		it('reads the added column for every record, so rows already synced get it, without touching fields whose Apply updates is off', async () => {
			const ids = await fx.dataverse.generate('contact', 12, 4);
			// Last name is Campaign's after the first load ("Apply updates" off).
			const fields = CONTACT_FIELDS.map((f) =>
				f.campaignField === 'lastName' ? { ...f, applyUpdates: false } : f,
			);
			const { json, names } = syncWorkflow({
				columns: ['firstname', 'lastname', 'emailaddress1'],
				fields,
			});
			json.nodes[0].parameters.changeDetection = changeDetection;
			const wf = fx.workflow(json);
			await runUntilQuiet(wf, names.trigger);
			expect([...(await profiles()).values()].every((p) => !p.birthDate)).toBe(true);

			// Changes made while the settings are edited are not lost either.
			await fx.dataverse.editRecord('contact', ids[0], { firstname: 'Édouard' });
			const edited = (await profiles()).get(ids[1])!;
			await fx.campaign.edit('profile', String(edited.PKey), { lastName: 'Kept in Campaign' });
			if (changeDetection === 'changeTracking') await fx.dataverse.deleteRecord('contact', ids[2]);

			wf.setParameters(names.trigger, {
				columns: ['firstname', 'lastname', 'emailaddress1', 'birthdate'],
			});
			wf.setParameters(names.mapping, {
				fieldMappings: {
					mapping: [...fields, BIRTH_DATE].map((f) => ({ applyUpdates: true, ...f })),
				} as unknown as INodeParameters,
			});
			const runs = await runUntilQuiet(wf, names.trigger);
			const report = runs[0].output(names.trigger).at(-1)?.[RUN_KEY] as RunReport;
			expect(report.notice).toMatch(/birthdate/);
			expect(
				runs.flatMap((r) => results(r, names.upsert)).filter((r) => r.outcome === 'failed'),
			).toEqual([]);

			const contacts = (await fx.dataverse.dump('contact')).records;
			const now = await profiles();
			for (const c of contacts) {
				const profile = now.get(String(c.contactid));
				expect(profile?.birthDate ?? null).toEqual(c.birthdate ?? null);
			}
			expect(now.get(ids[0])?.firstName).toBe('Édouard');
			expect(now.get(ids[1])?.lastName).toBe('Kept in Campaign');
			if (changeDetection === 'changeTracking') expect(now.has(ids[2])).toBe(false);

			// Afterwards the trigger is quiet again, and reads only changes.
			expect(await wf.poll(names.trigger)).toBeNull();
		});
	});

	it('needs no re-read when a column is removed', async () => {
		await fx.dataverse.generate('contact', 5, 9);
		const { json, names } = syncWorkflow({
			columns: ['firstname', 'lastname', 'emailaddress1', 'telephone1'],
		});
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		wf.setParameters(names.trigger, { columns: ['firstname', 'lastname', 'emailaddress1'] });
		expect(await wf.poll(names.trigger)).toBeNull();
	});
});
