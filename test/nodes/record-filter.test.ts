import type { INodeParameters } from 'n8n-workflow';

import { useNodeFixture } from './fixture';
import { campaignWrites, results, runUntilQuiet, syncWorkflow } from './sync-chain';

/** Three contacts whose columns differ in every way the comparisons need. */
const CONTACTS = [
	{
		firstname: 'Ana',
		lastname: 'Lima',
		emailaddress1: 'ana@contoso.com',
		creditlimit: 100,
		birthdate: '1980-05-01',
		gendercode: 2,
		telephone1: null,
	},
	{
		firstname: 'Bruno',
		lastname: 'Costa',
		emailaddress1: 'bruno@fabrikam.com',
		creditlimit: 500,
		birthdate: '1990-01-15',
		gendercode: 1,
		telephone1: '555 0100',
	},
	{
		firstname: 'Carla',
		lastname: 'Lopes',
		emailaddress1: null,
		creditlimit: null,
		birthdate: null,
		gendercode: null,
		telephone1: '555 0199',
	},
];

function rule(field: string, comparison: string, value = ''): INodeParameters {
	return { field, comparison, value };
}

describe('Record Filter', () => {
	const fx = useNodeFixture();

	/** First names of the profiles in Campaign, sorted. */
	async function synced(): Promise<string[]> {
		const dump = await fx.campaign.dump('profile');
		return dump.records.map((p) => String(p.firstName)).sort();
	}

	async function runFilter(filter: INodeParameters) {
		await fx.dataverse.seed('contact', CONTACTS);
		const { json, names } = syncWorkflow({ filter });
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		return await synced();
	}

	// telephone1, creditlimit, birthdate and gendercode are not mapped: any column can filter.
	describe('each comparison, on any column of the table', () => {
		it.each<[string, string, string, string[]]>([
			['equals', 'gendercode', 'Female', ['Ana']],
			['equals', 'gendercode', '1', ['Bruno']],
			['notEquals', 'gendercode', '2', ['Bruno', 'Carla']],
			['greater', 'creditlimit', '100', ['Bruno']],
			['greaterOrEqual', 'creditlimit', '100', ['Ana', 'Bruno']],
			['less', 'birthdate', '1985-01-01', ['Ana']],
			['lessOrEqual', 'birthdate', '1990-01-15', ['Ana', 'Bruno']],
			['contains', 'emailaddress1', 'CONTOSO', ['Ana']],
			['startsWith', 'lastname', 'Lo', ['Carla']],
			['endsWith', 'emailaddress1', '.com', ['Ana', 'Bruno']],
			['isEmpty', 'telephone1', '', ['Ana']],
			['isNotEmpty', 'telephone1', '', ['Bruno', 'Carla']],
		])('%s: %s "%s" passes %j', async (comparison, field, value, expected) => {
			expect(await runFilter({ rules: { rule: [rule(field, comparison, value)] } })).toEqual(
				expected,
			);
		});
	});

	it.each<[string, (accounts: string[]) => string, string[]]>([
		['equals', () => 'contoso ltd', ['Ana']],
		['equals', (accounts) => accounts[0].toUpperCase(), ['Ana']],
		['notEquals', () => 'Contoso Ltd', ['Bruno', 'Carla']],
		['startsWith', () => 'Fabri', ['Bruno']],
	])(
		'filters a customer lookup by its display name or its id (%s)',
		async (comparison, value, expected) => {
			const accounts = await fx.dataverse.seed('account', [
				{ name: 'Contoso Ltd' },
				{ name: 'Fabrikam' },
			]);
			const [ana, bruno, carla] = CONTACTS;
			await fx.dataverse.seed('contact', [
				{ ...ana, parentcustomerid: { id: accounts[0], table: 'account' } },
				{ ...bruno, parentcustomerid: { id: accounts[1], table: 'account' } },
				carla,
			]);
			const { json, names } = syncWorkflow({
				filter: { rules: { rule: [rule('parentcustomerid', comparison, value(accounts))] } },
			});
			await runUntilQuiet(fx.workflow(json), names.trigger);
			expect(await synced()).toEqual(expected);
		},
	);

	it('combines the filters with And', async () => {
		const filter = {
			rules: { rule: [rule('telephone1', 'isNotEmpty'), rule('creditlimit', 'greater', '10')] },
			combinator: 'and',
		};
		expect(await runFilter(filter)).toEqual(['Bruno']);
	});

	it('combines the filters with Or', async () => {
		const filter = {
			rules: { rule: [rule('lastname', 'startsWith', 'Lo'), rule('gendercode', 'equals', '2')] },
			combinator: 'or',
		};
		expect(await runFilter(filter)).toEqual(['Ana', 'Carla']);
	});

	it('propagates every modified record when there are no filters', async () => {
		expect(await runFilter({ rules: {} })).toEqual(['Ana', 'Bruno', 'Carla']);
	});

	describe('records filtered out after they were synced', () => {
		async function filterOutBruno(deleteFilteredOut: boolean) {
			const ids = await fx.dataverse.seed('contact', CONTACTS.slice(0, 2));
			const { json, names } = syncWorkflow({
				filter: { rules: { rule: [rule('gendercode', 'isNotEmpty')] }, deleteFilteredOut },
			});
			const wf = fx.workflow(json);
			await runUntilQuiet(wf, names.trigger);
			expect(await synced()).toEqual(['Ana', 'Bruno']);
			await fx.dataverse.editRecord('contact', ids[1], { gendercode: null });
			const [run] = await runUntilQuiet(wf, names.trigger);
			return { run, names, brunoId: ids[1] };
		}

		it('are deleted in Campaign when "delete records in Campaign that are filtered out" is on', async () => {
			const { run, names, brunoId } = await filterOutBruno(true);
			expect(results(run, names.upsert)).toMatchObject([{ id: brunoId, outcome: 'deleted' }]);
			expect(await synced()).toEqual(['Ana']);
		});

		it('stay in Campaign when it is off', async () => {
			const { run, names } = await filterOutBruno(false);
			expect(results(run, names.upsert)).toEqual([]);
			expect(run.output(names.filter).at(-1)).toMatchObject({ _syncRun: { filteredOut: 1 } });
			expect(await synced()).toEqual(['Ana', 'Bruno']);
		});
	});

	describe('a filter on a column the Dynamics Trigger does not list in Columns', () => {
		// Active and inactive contacts, with profiles in Campaign for every one of them.
		async function seedSynced() {
			const ids = await fx.dataverse.seed('contact', [
				{ firstname: 'Ana', lastname: 'Lima', emailaddress1: 'ana@contoso.com', statecode: 0 },
				{ firstname: 'Bruno', lastname: 'Costa', emailaddress1: 'b@fabrikam.com', statecode: 1 },
				{ firstname: 'Carla', lastname: 'Lopes', emailaddress1: 'c@contoso.com', statecode: 0 },
			]);
			await fx.campaign.insert(
				'profile',
				ids.map((id, i) => ({ externalId: id, firstName: ['Ana', 'Bruno', 'Carla'][i] })),
			);
			return ids;
		}

		it('is read anyway, so only the records the filter rejects are deleted', async () => {
			await seedSynced();
			const { json, names } = syncWorkflow({
				columns: ['firstname', 'lastname', 'emailaddress1'],
				filter: { rules: { rule: [rule('statecode', 'equals', '0')] }, deleteFilteredOut: true },
			});
			const [run] = await runUntilQuiet(fx.workflow(json), names.trigger);
			expect(results(run, names.upsert).map((r) => [r.outcome, r.keyValue !== undefined])).toEqual(
				expect.arrayContaining([['deleted', true]]),
			);
			expect(await synced()).toEqual(['Ana', 'Carla']);
		});

		it('fails the run naming the column when the trigger cannot see it, and deletes nothing', async () => {
			await seedSynced();
			await fx.campaign.resetCounters();
			// An expression hides the rule's column from the trigger.
			const { json, names } = syncWorkflow({
				columns: ['firstname', 'lastname', 'emailaddress1'],
				filter: {
					rules: { rule: [rule("={{ 'state' + 'code' }}", 'equals', '0')] },
					deleteFilteredOut: true,
				},
			});
			const run = (await fx.workflow(json).pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.nodes[names.filter].error?.message).toMatch(/statecode.*Columns/);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
			expect(await synced()).toEqual(['Ana', 'Bruno', 'Carla']);
		});
	});

	it('refuses a filter on a column the table does not have, before any write', async () => {
		await fx.dataverse.seed('contact', CONTACTS);
		await fx.campaign.resetCounters();
		const { json, names } = syncWorkflow({
			filter: { rules: { rule: [rule('nosuchcolumn', 'equals', 'x')] } },
		});
		const run = (await fx.workflow(json).pollAndRun(names.trigger))!;
		expect(run.status).toBe('error');
		expect(run.nodes[names.filter].error?.message).toContain('nosuchcolumn');
		expect(campaignWrites(await fx.campaign.counters())).toBe(0);
	});

	it('refuses a value that cannot be compared with the column, naming the filter', async () => {
		await fx.dataverse.seed('contact', CONTACTS);
		const { json, names } = syncWorkflow({
			filter: { rules: { rule: [rule('creditlimit', 'greater', 'lots')] } },
		});
		const run = (await fx.workflow(json).pollAndRun(names.trigger))!;
		expect(run.status).toBe('error');
		expect(run.nodes[names.filter].error?.message).toMatch(/creditlimit/);
		expect(run.nodes[names.filter].error?.message).toMatch(/lots/);
		expect(await synced()).toEqual([]);
	});
});
