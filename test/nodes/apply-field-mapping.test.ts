import { useNodeFixture } from './fixture';
import {
	campaignWrites,
	chainNodes,
	fromList,
	results,
	runUntilQuiet,
	summaryOf,
	syncWorkflow,
	type ChainSettings,
} from './sync-chain';
import { chain } from './fixture';
import { nodeTypes } from '../../sandbox/harness/node-types';

describe('Apply Field Mapping', () => {
	const fx = useNodeFixture();

	function setup(settings: ChainSettings = {}) {
		const { json, names } = syncWorkflow(settings);
		return { wf: fx.workflow(json), names };
	}

	async function profiles() {
		const dump = await fx.campaign.dump('profile');
		return new Map(dump.records.map((p) => [String(p.externalId), p]));
	}

	describe('Lists', () => {
		const alphabetical = (names: string[]) =>
			expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));

		it('lists the tables alphabetically, searchable by name, without repeating a name', async () => {
			const { wf, names } = setup();
			const tables = (await wf.listSearch(names.mapping, 'searchTables')).results;
			alphabetical(tables.map((t) => t.name));
			expect(tables.find((t) => t.value === 'contact')?.name).toBe('Contact');
			expect(tables.find((t) => t.value === 'new_loyaltycard')?.name).toBe(
				'Loyalty Card (new_loyaltycard)',
			);
			const found = await wf.listSearch(names.mapping, 'searchTables', 'LOYALTYCARD');
			expect(found.results.map((t) => t.value)).toEqual(['new_loyaltycard']);
		});

		it('lists the Campaign tables alphabetically, profiles as "Profile"', async () => {
			const { wf, names } = setup();
			const resources = (await wf.listSearch(names.mapping, 'searchCampaignResources')).results;
			alphabetical(resources.map((r) => r.name));
			expect(resources.find((r) => r.value === 'profile')?.name).toBe('Profile');
			expect(resources.map((r) => r.value)).toContain('cusLoyaltyCard');
			const found = await wf.listSearch(names.mapping, 'searchCampaignResources', 'cusloyalty');
			expect(found.results.map((r) => r.value)).toEqual(['cusLoyaltyCard']);
		});
	});

	describe('Primary keys', () => {
		it('shows the Dynamics key detected from the table, as a read-only setting', async () => {
			const { wf, names } = setup();
			// One option, named after the key; its empty value is the setting's default ("detected").
			const options = await wf.loadOptions(names.mapping, 'getPrimaryKey');
			expect(options.map((o) => [o.name, o.value])).toEqual([['contactid', '']]);
			const cards = await wf.loadOptions(names.mapping, 'getPrimaryKey', {
				table: fromList('new_loyaltycard'),
			});
			expect(cards.map((o) => o.name)).toEqual(['new_loyaltycardid']);
			// A workflow from before the setting became read-only, holding the detected key: still valid.
			const stored = await wf.loadOptions(names.mapping, 'getPrimaryKey', {
				table: 'contact',
				dynamicsKey: 'contactid',
			});
			expect(stored.map((o) => [o.name, o.value])).toEqual([['contactid', 'contactid']]);
			const setting = nodeTypes().applyFieldMapping.description.properties.find(
				(p) => p.name === 'dynamicsKey',
			)!;
			// Read-only while it holds the detected key (''); an older workflow's stored key can be cleared.
			expect(setting).toMatchObject({
				default: '',
				disabledOptions: { show: { dynamicsKey: [''] } },
			});
		});

		it('refuses a Dynamics key other than the detected one, saying what to do', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'X' }]);
			await fx.campaign.resetCounters();
			const { wf, names } = setup({ dynamicsKey: 'emailaddress1' });
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toBe(
				'The Microsoft Dynamics 365 primary key of "contact" is "contactid", not "emailaddress1"',
			);
			expect((run.error as { description?: string }).description).toMatch(/Clear the setting/);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it("offers the resource's writable fields as the Campaign key, saying which filter finds each", async () => {
			const { wf, names } = setup();
			const profile = await wf.loadOptions(names.mapping, 'getCampaignKeyFields');
			const values = profile.map((o) => o.value);
			// Campaign's metadata does not say which fields are unique: none is left out for that.
			expect(values).toEqual(expect.arrayContaining(['externalId', 'email', 'firstName']));
			expect(values).not.toContain('PKey');
			expect(values).not.toContain('lastModified');
			const externalId = profile.find((o) => o.value === 'externalId')!;
			expect(externalId.description).toBe('Type: string (100); found with byExternalId');
			const cards = await wf.loadOptions(names.mapping, 'getCampaignKeyFields', {
				campaignResource: 'cusLoyaltyCard',
			});
			expect(cards.find((o) => o.value === 'crmId')?.description).toMatch(/found with byCrmId/);
			// A link holds another record's PKey, not a value a filter is given.
			expect(cards.map((o) => o.value)).not.toContain('profile');
		});
	});

	describe('Field mappings', () => {
		it('writes a field whose Apply updates is off on creation and replay only', async () => {
			const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ana', lastname: 'Lima' }]);
			const { wf, names } = setup({
				fields: [
					{ dynamicsField: 'firstname', campaignField: 'firstName', applyUpdates: true },
					{ dynamicsField: 'lastname', campaignField: 'lastName', applyUpdates: false },
				],
			});
			await runUntilQuiet(wf, names.trigger);
			expect((await profiles()).get(id)).toMatchObject({ lastName: 'Lima' });

			await fx.dataverse.editRecord('contact', id, { lastname: 'Lyma' });
			await runUntilQuiet(wf, names.trigger);
			expect((await profiles()).get(id)).toMatchObject({ lastName: 'Lima' });

			wf.setParameters(names.trigger, { replayData: 'push last names' });
			const [replay] = await runUntilQuiet(wf, names.trigger);
			expect(results(replay, names.upsert)).toMatchObject([{ id, outcome: 'updated' }]);
			expect((await profiles()).get(id)).toMatchObject({ lastName: 'Lyma' });
		});

		it('Apply Updates for All Fields "All On" overrides fields switched off', async () => {
			const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ana', lastname: 'Lima' }]);
			const { wf, names } = setup({
				applyUpdatesAll: 'allOn',
				fields: [
					{ dynamicsField: 'firstname', campaignField: 'firstName', applyUpdates: false },
					{ dynamicsField: 'lastname', campaignField: 'lastName', applyUpdates: false },
				],
			});
			await runUntilQuiet(wf, names.trigger);
			await fx.dataverse.editRecord('contact', id, { firstname: 'Anna', lastname: 'Lyma' });
			await runUntilQuiet(wf, names.trigger);
			expect((await profiles()).get(id)).toMatchObject({ firstName: 'Anna', lastName: 'Lyma' });
		});

		it('Apply Updates for All Fields "All Off" overrides fields switched on', async () => {
			const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ana', lastname: 'Lima' }]);
			const { wf, names } = setup({
				applyUpdatesAll: 'allOff',
				fields: [
					{ dynamicsField: 'firstname', campaignField: 'firstName', applyUpdates: true },
					{ dynamicsField: 'lastname', campaignField: 'lastName', applyUpdates: true },
				],
			});
			await runUntilQuiet(wf, names.trigger);
			await fx.dataverse.editRecord('contact', id, { firstname: 'Anna', lastname: 'Lyma' });
			const [run] = await runUntilQuiet(wf, names.trigger);
			expect(results(run, names.upsert)).toMatchObject([{ id, outcome: 'unchanged' }]);
			expect((await profiles()).get(id)).toMatchObject({ firstName: 'Ana', lastName: 'Lima' });
		});

		it('shows the data type of each field in the dropdowns', async () => {
			const { wf, names } = setup();
			const columns = await wf.loadOptions(names.mapping, 'getColumns');
			expect(columns.find((o) => o.value === 'birthdate')?.description).toBe('Type: DateTime');
			expect(columns.find((o) => o.value === 'gendercode')?.description).toBe('Type: Picklist');
			const fields = await wf.loadOptions(names.mapping, 'getCampaignFields');
			expect(fields.find((o) => o.value === 'birthDate')?.description).toMatch(/^Type: date/);
			expect(fields.find((o) => o.value === 'gender')?.description).toMatch(/^Type: enumeration/);
		});

		it('refuses two Dynamics fields into one Campaign field before any write', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'Ana', lastname: 'Lima' }]);
			await fx.campaign.resetCounters();
			const { wf, names } = setup({
				fields: [
					{ dynamicsField: 'firstname', campaignField: 'firstName' },
					{ dynamicsField: 'lastname', campaignField: 'firstName' },
				],
			});
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toContain(
				'Dynamics fields "firstname" and "lastname" both map to Campaign field "firstName"',
			);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it.each([
			[false, 'Married'],
			[true, '2'],
		])(
			'propagates picklist values as display or technical values (technical: %s)',
			async (useTechnicalValues, expected) => {
				const [id] = await fx.dataverse.seed('contact', [{ firstname: 'A', familystatuscode: 2 }]);
				const { wf, names } = setup({
					fields: [{ dynamicsField: 'familystatuscode', campaignField: 'lastName' }],
					advanced: { useTechnicalValues },
				});
				await runUntilQuiet(wf, names.trigger);
				expect((await profiles()).get(id)).toMatchObject({ lastName: expected });
			},
		);

		describe('conversion of dates, money, lookups and booleans', () => {
			const RESOURCE = 'cusContactData';
			beforeEach(async () => {
				await fx.campaign.defineResource({
					name: RESOURCE,
					fields: [
						{ name: 'crmId', type: 'string', unique: true },
						{ name: 'birth', type: 'date' },
						{ name: 'credit', type: 'double' },
						{ name: 'creditText', type: 'string' },
						{ name: 'company', type: 'string' },
						{ name: 'noEmail', type: 'boolean' },
						{ name: 'phoneNumber', type: 'long' },
					],
					filters: [{ name: 'byCrmId', field: 'crmId' }],
				});
			});
			const fields = [
				{ dynamicsField: 'birthdate', campaignField: 'birth' },
				{ dynamicsField: 'creditlimit', campaignField: 'credit' },
				{ dynamicsField: 'creditlimit', campaignField: 'creditText' },
				{ dynamicsField: 'parentcustomerid', campaignField: 'company' },
				{ dynamicsField: 'donotemail', campaignField: 'noEmail' },
			];

			async function seedContact() {
				const [accountId] = await fx.dataverse.seed('account', [{ name: 'Contoso Ltd' }]);
				const [id] = await fx.dataverse.seed('contact', [
					{
						firstname: 'A',
						birthdate: '1984-02-29',
						creditlimit: 1234.5,
						parentcustomerid: { id: accountId, table: 'account' },
						donotemail: true,
					},
				]);
				return { id, accountId };
			}

			async function written(id: string) {
				const dump = await fx.campaign.dump(RESOURCE);
				return dump.records.find((r) => r.crmId === id);
			}

			it('converts each to the Campaign field type, lookups as their display name', async () => {
				const { id } = await seedContact();
				const { wf, names } = setup({ campaignResource: RESOURCE, campaignKey: 'crmId', fields });
				await runUntilQuiet(wf, names.trigger);
				expect(await written(id)).toMatchObject({
					birth: '1984-02-29',
					credit: 1234.5,
					creditText: '1234.5',
					company: 'Contoso Ltd',
					noEmail: true,
				});
			});

			it('writes the lookup id when technical values are asked for', async () => {
				const { id, accountId } = await seedContact();
				const { wf, names } = setup({
					campaignResource: RESOURCE,
					campaignKey: 'crmId',
					fields,
					advanced: { useTechnicalValues: true },
				});
				await runUntilQuiet(wf, names.trigger);
				expect(await written(id)).toMatchObject({ company: accountId, noEmail: true });
			});

			it('fails only the record whose value cannot convert, naming the record and the field', async () => {
				const ids = await fx.dataverse.seed('contact', [
					{ firstname: 'A', telephone1: '5550100' },
					{ firstname: 'B', telephone1: 'call after 5' },
					{ firstname: 'C', telephone1: null },
				]);
				const { wf, names } = setup({
					campaignResource: RESOURCE,
					campaignKey: 'crmId',
					fields: [{ dynamicsField: 'telephone1', campaignField: 'phoneNumber' }],
					errorOutput: true,
				});
				const run = (await wf.pollAndRun(names.trigger))!;
				const [failed] = results(run, names.upsert, 1);
				expect(failed.details).toMatchObject({ id: ids[1], outcome: 'failed' });
				expect(failed.error).toContain(`Record ${ids[1]} of table "contact", field "telephone1"`);
				expect(failed.error).toContain('Campaign field "phoneNumber"');
				expect(summaryOf(run, names.upsert)).toMatchObject({ created: 2, failed: 1 });
				expect((await written(ids[0]))?.phoneNumber).toBe(5550100);
				expect((await written(ids[2]))?.phoneNumber).toBeNull();
			});
		});
	});

	describe('Apply deletes', () => {
		it.each([
			[true, false],
			[false, true],
		])(
			'Apply deletes %s: the profile of a deleted contact is kept: %s',
			async (applyDeletes, kept) => {
				const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ana' }]);
				const { wf, names } = setup({ advanced: { applyDeletes } });
				await runUntilQuiet(wf, names.trigger);
				await fx.dataverse.deleteRecord('contact', id);
				const [run] = await runUntilQuiet(wf, names.trigger);
				expect(results(run, names.upsert)).toMatchObject([
					{ id, outcome: applyDeletes ? 'deleted' : 'skipped' },
				]);
				expect((await profiles()).has(id)).toBe(kept);
			},
		);
	});

	describe('Tables and keys are fixed once a mapping has run', () => {
		async function ranOnce() {
			await fx.dataverse.seed('contact', [{ firstname: 'Ana' }]);
			await fx.dataverse.seed('account', [{ name: 'Contoso Ltd' }]);
			const setupResult = setup();
			await runUntilQuiet(setupResult.wf, setupResult.names.trigger);
			await fx.dataverse.seed('contact', [{ firstname: 'Bo' }]);
			await fx.campaign.resetCounters();
			return setupResult;
		}

		function expectRefused(run: Awaited<ReturnType<typeof runUntilQuiet>>[number] | null) {
			expect(run?.status).toBe('error');
			expect(run?.error?.message).toMatch(/cannot be changed afterwards/);
			expect((run?.error as { description?: string }).description).toMatch(
				/delete this chain of nodes and add a new mapping/,
			);
		}

		it('refuses a change of the Campaign table', async () => {
			const { wf, names } = await ranOnce();
			wf.setParameters(names.mapping, {
				campaignResource: 'cusLoyaltyCard',
				campaignKey: 'crmId',
				fieldMappings: {},
			});
			const run = await wf.pollAndRun(names.trigger);
			expectRefused(run);
			expect(run?.error?.message).toMatch(/campaignResource, campaignKey/);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it('refuses a change of the Dynamics table, in the trigger and in the mapping', async () => {
			const { wf, names } = await ranOnce();
			for (const name of [names.trigger, names.filter, names.replace, names.mapping]) {
				wf.setParameters(name, { table: 'account' });
			}
			wf.setParameters(names.mapping, {
				fieldMappings: { mapping: [{ dynamicsField: 'name', campaignField: 'lastName' }] },
			});
			await expect(wf.pollAndRun(names.trigger)).rejects.toThrow(
				/has synced table "contact".*cannot be changed to "account"/,
			);
			// A new trigger (fresh state) in front of the same mapping: the mapping refuses.
			const state = wf.staticData(names.trigger);
			for (const key of Object.keys(state)) delete state[key];
			const run = await wf.pollAndRun(names.trigger);
			expectRefused(run);
			expect(run?.error?.message).toMatch(/; table, dynamicsKey cannot/);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it('keeps its lock with a version: one kept without refuses a change, a newer one refuses to run', async () => {
			const { wf, names } = await ranOnce();
			const state = wf.staticData(names.mapping);
			expect(state.mappingLock).toMatchObject({ table: 'contact', version: 1 });
			// As versions before the state store kept it.
			delete (state.mappingLock as { version?: number }).version;
			wf.setParameters(names.mapping, { campaignKey: 'email' });
			expectRefused(await wf.pollAndRun(names.trigger));
			wf.setParameters(names.mapping, { campaignKey: 'externalId' });
			(state.mappingLock as { version?: number }).version = 2;
			await fx.dataverse.seed('contact', [{ firstname: 'Cy' }]);
			const run = await wf.pollAndRun(names.trigger);
			expect(run?.status).toBe('error');
			expect(run?.error?.message).toBe(
				"Apply Field Mapping's saved tables and keys has version 2, written by a newer version of this package. Update the package on this n8n.",
			);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it('refuses a change of the Campaign key', async () => {
			await fx.campaign.defineResource({
				name: 'profile',
				fields: [
					...(await fx.campaign.resources()).find((r) => r.name === 'profile')!.fields,
					{ name: 'crmId', type: 'string', unique: true },
				],
				filters: [
					{ name: 'byExternalId', field: 'externalId' },
					{ name: 'byCrmId', field: 'crmId' },
				],
			});
			const { wf, names } = await ranOnce();
			wf.setParameters(names.mapping, { campaignKey: 'crmId' });
			const run = await wf.pollAndRun(names.trigger);
			expectRefused(run);
			expect(run?.error?.message).toMatch(/; campaignKey cannot/);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});
	});

	describe('Each table mapped once', () => {
		function twoChains(first: ChainSettings, second: ChainSettings) {
			const a = chainNodes({ prefix: 'A: ', ...first });
			const b = chainNodes({ prefix: 'B: ', ...second });
			const connect = (n: typeof a.names) =>
				chain(n.trigger, n.filter, n.replace, n.mapping, n.upsert);
			const wf = fx.workflow({
				nodes: [...a.nodes, ...b.nodes],
				connections: { ...connect(a.names), ...connect(b.names) },
			});
			return { wf, a: a.names, b: b.names };
		}

		it('refuses a second chain mapping the same Dynamics table', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'Ana' }]);
			await fx.campaign.defineResource({
				name: 'cusPerson',
				fields: [
					{ name: 'crmId', type: 'string', unique: true },
					{ name: 'firstName', type: 'string' },
				],
				filters: [{ name: 'byCrmId', field: 'crmId' }],
			});
			const { wf, a, b } = twoChains(
				{},
				{
					campaignResource: 'cusPerson',
					campaignKey: 'crmId',
					fields: [{ dynamicsField: 'firstname', campaignField: 'firstName' }],
				},
			);
			await runUntilQuiet(wf, a.trigger);
			await fx.campaign.resetCounters();
			const run = await wf.pollAndRun(b.trigger);
			expect(run?.status).toBe('error');
			expect(run?.error?.message).toBe(
				`The Microsoft Dynamics 365 table "contact" is already mapped by the node "${a.mapping}" in this workflow`,
			);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it('refuses a second chain mapping a table chosen from the list, like a plain name', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'Ana' }]);
			await fx.dataverse.seed('account', [{ name: 'Contoso Ltd' }]);
			const { wf, a, b } = twoChains(
				{ fromLists: true },
				{
					fromLists: true,
					table: 'account',
					fields: [{ dynamicsField: 'name', campaignField: 'lastName' }],
				},
			);
			const [first] = await runUntilQuiet(wf, a.trigger);
			expect(summaryOf(first, a.upsert)).toMatchObject({ created: 1, failed: 0 });
			const run = await wf.pollAndRun(b.trigger);
			expect(run?.status).toBe('error');
			expect(run?.error?.message).toBe(
				`The Campaign table "profile" is already mapped by the node "${a.mapping}" in this workflow`,
			);
		});

		it('refuses a second chain mapping the same Campaign table', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'Ana' }]);
			await fx.dataverse.seed('account', [{ name: 'Contoso Ltd' }]);
			const { wf, a, b } = twoChains(
				{},
				{ table: 'account', fields: [{ dynamicsField: 'name', campaignField: 'lastName' }] },
			);
			await runUntilQuiet(wf, a.trigger);
			const run = await wf.pollAndRun(b.trigger);
			expect(run?.status).toBe('error');
			expect(run?.error?.message).toBe(
				`The Campaign table "profile" is already mapped by the node "${a.mapping}" in this workflow`,
			);
		});

		it('lets a chain map a table again once the other chain maps something else', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'Ana' }]);
			await fx.dataverse.seed('account', [{ name: 'Contoso Ltd' }]);
			const { wf, a, b } = twoChains(
				{},
				{ table: 'account', fields: [{ dynamicsField: 'name', campaignField: 'lastName' }] },
			);
			await runUntilQuiet(wf, a.trigger);
			// The first mapping now writes to loyalty cards: its claim on profiles is stale.
			wf.setParameters(a.mapping, { campaignResource: 'cusLoyaltyCard' });
			const run = await wf.pollAndRun(b.trigger);
			expect(run?.error).toBeUndefined();
			const accounts = (await fx.dataverse.dump('account')).records.length;
			expect(summaryOf(run!, b.upsert)).toMatchObject({ created: accounts, failed: 0 });
		});
	});
});
