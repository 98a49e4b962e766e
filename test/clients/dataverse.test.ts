import { DataverseClient, type ModifiedOnCursor } from '../../lib/dynamics/client';
import {
	DataverseApiError,
	DataverseSettingsError,
	DeltaTokenExpiredError,
} from '../../lib/dynamics/errors';
import { withRetry } from '../../lib/http/retry';
import { and, eq, or } from '../../lib/dynamics/odata';
import {
	DataverseSandboxAdmin,
	startDataverseSandbox,
	type DataverseSandbox,
} from '../../sandbox/dataverse';
import { axiosTransport } from '../../sandbox/harness/axios-transport';
import { dynamicsTokens, sandboxDynamicsSettings } from '../../sandbox/harness/tokens';
import { dataverseClientFor, type Wired } from '../../sandbox/harness/clients';

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

let sandbox: DataverseSandbox;
let admin: DataverseSandboxAdmin;
let wired: Wired<DataverseClient>;
let client: DataverseClient;

beforeAll(async () => {
	sandbox = await startDataverseSandbox({ port: 0, seed: 5, demoRecords: 0 });
	admin = new DataverseSandboxAdmin(sandbox.url);
	wired = dataverseClientFor(sandbox);
	client = wired.client;
});

afterAll(async () => {
	wired?.close();
	await sandbox?.close();
});

beforeEach(async () => {
	await admin.reset({ seed: 5, demoRecords: 0 });
});

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection<E>(promise: Promise<unknown>): Promise<E> {
	try {
		await promise;
	} catch (error) {
		return error as E;
	}
	throw new Error('Expected the call to fail');
}

function contacts(n: number, prefix = 'Person'): Array<Record<string, unknown>> {
	return Array.from({ length: n }, (_, i) => ({
		firstname: `${prefix}${String(i).padStart(3, '0')}`,
		lastname: 'Test',
		gendercode: (i % 2) + 1,
	}));
}

describe('Queries', () => {
	it('reads every page following nextLink, with display values', async () => {
		await admin.seed('contact', contacts(12));
		const sizes: number[] = [];
		const rows: Array<Record<string, unknown>> = [];
		for await (const page of client.queryPages('contact', {
			select: ['firstname', 'gendercode'],
			orderBy: [{ column: 'firstname' }],
			pageSize: 5,
		})) {
			sizes.push(page.rows.length);
			rows.push(...page.rows);
		}
		expect(sizes).toEqual([5, 5, 2]);
		expect(rows.map((r) => r.firstname)).toEqual(contacts(12).map((c) => c.firstname));
		expect(rows[0]).toMatchObject({ gendercode: 1, [`gendercode${FORMATTED}`]: 'Male' });
		expect(rows[1][`gendercode${FORMATTED}`]).toBe('Female');
	});

	it('stops after top rows even across pages', async () => {
		await admin.seed('contact', contacts(12));
		const rows = await client.query('contact', { select: ['firstname'], pageSize: 5, top: 7 });
		expect(rows).toHaveLength(7);
	});

	it('matches quotes and injection attempts literally', async () => {
		await admin.seed('contact', [
			{ firstname: 'A', lastname: "O'Bryan" },
			{ firstname: 'B', lastname: "x' or 1 eq 1 or lastname eq '" },
			{ firstname: 'C', lastname: 'Zoë 北京' },
			{ firstname: 'D', lastname: 'Other' },
		]);
		const by = async (lastname: string) =>
			(
				await client.query('contact', { select: ['firstname'], filter: eq('lastname', lastname) })
			).map((r) => r.firstname);
		expect(await by("O'Bryan")).toEqual(['A']);
		expect(await by("x' or 1 eq 1 or lastname eq '")).toEqual(['B']);
		expect(await by("' or 1 eq 1 or lastname eq '")).toEqual([]);
		expect(await by('Zoë 北京')).toEqual(['C']);
		const both = await client.query('contact', {
			select: ['firstname'],
			filter: and(eq('statecode', 0), or(eq('lastname', 'Other'), eq('firstname', 'A'))),
			orderBy: [{ column: 'firstname', descending: true }],
		});
		expect(both.map((r) => r.firstname)).toEqual(['D', 'A']);
	});

	it("reports Dataverse's error code and the route, never the token", async () => {
		const error = await rejection<DataverseApiError>(
			client.query('contact', { select: ['nosuchcolumn'] }),
		);
		expect(error).toBeInstanceOf(DataverseApiError);
		expect(error.status).toBe(400);
		expect(error.route).toBe('GET contacts');
		expect(error.message).toMatch(/nosuchcolumn/);
		expect(error.message).not.toMatch(/Bearer|eyJ/);
	});
});

describe('Change tracking', () => {
	it('reads everything first, then only changes and deletes, with the delta link on the last page', async () => {
		const ids = await admin.seed('contact', contacts(7));
		const initial: Array<Record<string, unknown>> = [];
		const links: Array<[boolean, boolean]> = [];
		let deltaLink: string | undefined;
		for await (const page of client.trackChanges('contact', {
			select: ['firstname', 'gendercode'],
			pageSize: 3,
		})) {
			initial.push(...page.upserted);
			expect(page.deleted).toEqual([]);
			links.push([!!page.nextLink, !!page.deltaLink]);
			deltaLink = page.deltaLink ?? deltaLink;
		}
		expect(initial).toHaveLength(7);
		expect(links).toEqual([
			[true, false],
			[true, false],
			[false, true],
		]);
		expect(initial[0][`gendercode${FORMATTED}`]).toBe('Male');

		await admin.editRecord('contact', ids[1], { firstname: 'Changed' });
		await admin.deleteRecord('contact', ids[2]);
		const [added] = await admin.seed('contact', [{ firstname: 'New', lastname: 'Test' }]);

		const upserted: Array<Record<string, unknown>> = [];
		const deleted: string[] = [];
		let pages = 0;
		let nextDelta: string | undefined;
		for await (const page of client.trackChanges('contact', { deltaLink, pageSize: 1 })) {
			pages++;
			upserted.push(...page.upserted);
			deleted.push(...page.deleted);
			nextDelta = page.deltaLink ?? nextDelta;
		}
		expect(pages).toBeGreaterThanOrEqual(3);
		expect(upserted.map((r) => r.contactid).sort()).toEqual([ids[1], added].sort());
		expect(upserted.find((r) => r.contactid === ids[1])?.firstname).toBe('Changed');
		expect(deleted).toEqual([ids[2]]);
		expect(nextDelta).toBeDefined();
		expect(nextDelta).not.toBe(deltaLink);

		// No changes since: an empty page and a delta link again.
		const quiet = [];
		for await (const page of client.trackChanges('contact', { deltaLink: nextDelta }))
			quiet.push(page);
		expect(quiet.flatMap((p) => [...p.upserted, ...p.deleted])).toEqual([]);
		expect(quiet[quiet.length - 1].deltaLink).toBeDefined();
	});

	it('throws DeltaTokenExpiredError for an expired token', async () => {
		await admin.seed('contact', contacts(2));
		let deltaLink: string | undefined;
		for await (const page of client.trackChanges('contact', { select: ['firstname'] })) {
			deltaLink = page.deltaLink ?? deltaLink;
		}
		await admin.expireChangeTracking('contact');
		const pages = client.trackChanges('contact', { deltaLink });
		const error = await rejection<DeltaTokenExpiredError>(pages.next());
		expect(error).toBeInstanceOf(DeltaTokenExpiredError);
		expect(error.message).toMatch(/full sync/i);
	});
});

describe('Metadata', () => {
	it('lists tables with entity set names and change tracking', async () => {
		const tables = await client.listTables();
		expect(tables.find((t) => t.logicalName === 'contact')).toMatchObject({
			entitySetName: 'contacts',
			primaryIdAttribute: 'contactid',
			changeTrackingEnabled: true,
		});
		expect(tables.find((t) => t.logicalName === 'systemuser')?.changeTrackingEnabled).toBe(false);
	});

	it('reads a table with its alternate keys, and its columns with types', async () => {
		const account = await client.getTable('account');
		expect(account.entitySetName).toBe('accounts');
		expect(account.alternateKeys).toEqual([
			{ name: 'account_accountnumber_key', columns: ['accountnumber'], status: 'Active' },
		]);
		const columns = await client.getColumns('contact');
		const type = (name: string) => columns.find((c) => c.logicalName === name)?.type;
		expect(type('gendercode')).toBe('Picklist');
		expect(type('donotemail')).toBe('Boolean');
		expect(type('birthdate')).toBe('DateTime');
		expect(type('contactid')).toBe('Uniqueidentifier');
	});

	it('reads the options of picklist, boolean, state and status columns', async () => {
		expect(await client.getOptions('contact', 'gendercode')).toEqual([
			{ value: 1, label: 'Male' },
			{ value: 2, label: 'Female' },
		]);
		const bool = await client.getOptions('contact', 'donotemail');
		expect(bool.map((o) => o.value)).toEqual([true, false]);
		expect(bool.every((o) => o.label.length > 0)).toBe(true);
		const states = await client.getOptions('contact', 'statecode');
		expect(states.map((o) => o.value)).toEqual([0, 1]);
		const statuses = await client.getOptions('contact', 'statuscode');
		expect(statuses.every((o) => typeof o.state === 'number')).toBe(true);
		await expect(client.getOptions('contact', 'firstname')).rejects.toThrow(/only Picklist/);
	});

	it('reports the total record count snapshot', async () => {
		await admin.seed('contact', contacts(3));
		await admin.setReportedCount('account', 1234);
		expect(await client.retrieveTotalRecordCount(['contact', 'account'])).toEqual({
			contact: 3,
			account: 1234,
		});
	});
});

describe('Writes', () => {
	it('creates, updates, retrieves and deletes a row', async () => {
		const { id } = await client.create('contact', { firstname: 'Ana', lastname: "D'Souza" });
		expect(id).toMatch(/^[0-9a-f-]{36}$/);
		await client.update('contact', id, { firstname: 'Anna' });
		expect(
			await client.retrieve('contact', id, { select: ['firstname', 'lastname'] }),
		).toMatchObject({
			firstname: 'Anna',
			lastname: "D'Souza",
		});
		expect(await client.delete('contact', id)).toBe(true);
		expect(await client.retrieve('contact', id)).toBeUndefined();
		expect(await client.delete('contact', id)).toBe(false);
	});

	it('never creates a row when updating a missing one', async () => {
		const missing = '00000000-0000-0000-0000-000000000001';
		const error = await rejection<DataverseApiError>(
			client.update('contact', missing, { firstname: 'X' }),
		);
		expect(error).toBeInstanceOf(DataverseApiError);
		expect(error.status).toBe(404);
		expect(error.route).toBe(`PATCH contacts(${missing})`);
		expect((await admin.dump('contact')).count).toBe(0);
	});

	it('upserts by alternate key and tells created from updated', async () => {
		const first = await client.upsert(
			'account',
			{ accountnumber: "A'1/2" },
			{ name: 'Contoso' },
			{
				returnColumns: ['name'],
			},
		);
		expect(first.created).toBe(true);
		const second = await client.upsert(
			'account',
			{ accountnumber: "A'1/2" },
			{ name: 'Contoso Ltd' },
			{
				returnColumns: ['name'],
			},
		);
		expect(second).toMatchObject({ created: false, id: first.id });
		const matching = (await admin.dump('account')).records.filter(
			(r) => r.accountnumber === "A'1/2",
		);
		expect(matching).toHaveLength(1);
		expect(matching[0]).toMatchObject({ name: 'Contoso Ltd', accountid: first.id });
	});

	it('sets a lookup with @odata.bind', async () => {
		const { id: accountId } = await client.create('account', { name: 'Fabrikam' });
		const { id } = await client.create('contact', {
			lastname: 'Bound',
			...(await client.bind('parentcustomerid_account', 'account', accountId)),
		});
		const row = await client.retrieve('contact', id, { select: ['_parentcustomerid_value'] });
		expect(row?._parentcustomerid_value).toBe(accountId);
		expect(row?.[`_parentcustomerid_value${FORMATTED}`]).toBe('Fabrikam');
	});
});

describe('$batch', () => {
	it('answers each operation, rolls back a failed changeset and continues on error', async () => {
		const [existing] = await admin.seed('contact', [{ firstname: 'Keep', lastname: 'Me' }]);
		const missing = '00000000-0000-0000-0000-000000000002';
		const contactsUrl = await client.batchUrl('contact');
		const results = await client.batch(
			[
				{
					method: 'PATCH',
					url: await client.batchUrl('contact', existing),
					body: { firstname: 'Kept' },
				},
				{
					changeset: [
						{ method: 'POST', url: contactsUrl, body: { lastname: 'RolledBack' } },
						{
							method: 'PATCH',
							url: await client.batchUrl('contact', missing),
							headers: { 'If-Match': '*' },
							body: { lastname: 'Nope' },
						},
					],
				},
				{ method: 'POST', url: contactsUrl, body: { lastname: 'After' } },
			],
			{ continueOnError: true },
		);
		// The failed changeset answers its failing operation alone, by Content-ID; the other one
		// was rolled back.
		expect(results.map((r) => r.outcome)).toEqual([
			'succeeded',
			'rolledBack',
			'failed',
			'succeeded',
		]);
		expect(results[1].error).toEqual(results[2].error);
		expect(results[2]).toMatchObject({ contentId: '2', status: 404 });
		expect(results[2].error?.message).toMatch(/Does Not Exist|does not exist/i);
		const lastnames = (await admin.dump('contact')).records.map((r) => r.lastname).sort();
		expect(lastnames).toEqual(['After', 'Me']);
		expect(
			(await admin.dump('contact')).records.find((r) => r.contactid === existing)?.firstname,
		).toBe('Kept');
	});

	it('stops at the first failure without continue-on-error', async () => {
		const contactsUrl = await client.batchUrl('contact');
		const results = await client.batch([
			{ method: 'POST', url: contactsUrl, body: { lastname: 'x'.repeat(200) } },
			{ method: 'POST', url: contactsUrl, body: { lastname: 'Never' } },
		]);
		expect(results.map((r) => r.outcome)).toEqual(['failed', 'notExecuted']);
		expect(results[0].error?.message).toMatch(/lastname/);
		expect((await admin.dump('contact')).count).toBe(0);
	});
});

describe('Dataverse as Microsoft documents it (#15)', () => {
	afterEach(async () => await admin.setBehavior({}));

	describe('lookup, customer and owner columns', () => {
		it('describes them with their targets, and leaves their helpers unreadable', async () => {
			const columns = new Map((await client.getColumns('contact')).map((c) => [c.logicalName, c]));
			expect(columns.get('parentcustomerid')).toMatchObject({
				type: 'Customer',
				targets: ['account', 'contact'],
				readable: true,
				property: '_parentcustomerid_value',
			});
			expect(columns.get('ownerid')).toMatchObject({ targets: ['systemuser', 'team'] });
			expect(columns.get('parentcustomeridname')).toMatchObject({
				readable: false,
				attributeOf: 'parentcustomerid',
			});
			expect(columns.get('firstname')).toMatchObject({ readable: true, property: 'firstname' });
		});

		it('selects them by logical name and reads their table and display name', async () => {
			const [accountId] = await admin.seed('account', [{ name: 'Contoso Ltd' }]);
			const [teamId] = await admin.seed('team', [{ name: 'Sales Team' }]);
			await admin.seed('contact', [
				{
					lastname: 'Owned',
					parentcustomerid: { id: accountId, table: 'account' },
					ownerid: { id: teamId, table: 'team' },
				},
			]);
			const [row] = await client.query('contact', {
				select: ['lastname', 'parentcustomerid', 'ownerid'],
			});
			expect(row).toMatchObject({
				_parentcustomerid_value: accountId,
				'_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'account',
				[`_parentcustomerid_value${FORMATTED}`]: 'Contoso Ltd',
				_ownerid_value: teamId,
				'_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'team',
			});
			const plain = await client.query('contact', {
				select: ['ownerid'],
				formattedValues: false,
				lookupTables: true,
			});
			expect(plain[0]).toEqual(
				expect.objectContaining({
					'_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'team',
				}),
			);
			expect(Object.keys(plain[0]).some((k) => k.endsWith(FORMATTED))).toBe(false);
		});

		it('refuses a helper column with a message naming the lookup to choose', async () => {
			const error = await rejection<Error>(
				client.query('contact', { select: ['parentcustomeridname'] }),
			);
			expect(error).toBeInstanceOf(DataverseSettingsError);
			expect(error.message).toBe(
				'The column "parentcustomeridname" of table "contact" cannot be read: it is a helper of "parentcustomerid"; choose "parentcustomerid" instead',
			);
		});
	});

	describe('change tracking without a delta link', () => {
		it('asks for the last page again without annotations and takes the delta link from there', async () => {
			await admin.seed('contact', contacts(5));
			await admin.setBehavior({ deltaLinkMissingWithAnnotations: true });
			const pages = [];
			for await (const page of client.trackChanges('contact', {
				select: ['firstname'],
				pageSize: 2,
			})) {
				pages.push(page);
			}
			expect(pages.map((p) => p.upserted.length)).toEqual([2, 2, 1]);
			const last = pages[pages.length - 1];
			expect(last.deltaLink).toContain('$deltatoken=');
			expect(last.deltaLinkMissing).toBeUndefined();
			expect(last.upserted[0][`gendercode${FORMATTED}`]).toBeUndefined();
			expect(last.upserted[0]['@odata.etag']).toBeDefined();
		});

		it('says the delta link is missing when a delta read answers an empty body', async () => {
			await admin.seed('contact', contacts(2));
			let deltaLink: string | undefined;
			for await (const page of client.trackChanges('contact', { select: ['firstname'] })) {
				deltaLink = page.deltaLink ?? deltaLink;
			}
			await admin.setBehavior({ emptyBodyWithoutChanges: true });
			const pages = [];
			for await (const page of client.trackChanges('contact', { deltaLink })) pages.push(page);
			expect(pages).toEqual([{ upserted: [], deleted: [], deltaLinkMissing: true }]);
		});
	});

	it('fails an expired token at once whatever its status, without retrying', async () => {
		const auth = dynamicsTokens(sandboxDynamicsSettings(sandbox.url));
		const transport = axiosTransport({ auth });
		const retrying = new DataverseClient({
			transport: withRetry(transport, { sleep: async () => {}, baseDelayMs: 1 }),
			environmentUrl: sandbox.url,
		});
		try {
			await admin.seed('contact', contacts(2));
			let deltaLink: string | undefined;
			for await (const page of retrying.trackChanges('contact', { select: ['firstname'] })) {
				deltaLink = page.deltaLink ?? deltaLink;
			}
			await admin.expireChangeTracking('contact');
			await admin.setBehavior({ expiredTokenStatus: 503 });
			await admin.resetCounters();
			const error = await rejection<DeltaTokenExpiredError>(
				retrying.trackChanges('contact', { deltaLink }).next(),
			);
			expect(error).toBeInstanceOf(DeltaTokenExpiredError);
			expect(error.status).toBe(503);
			expect((await admin.counters())['GET contacts']).toBe(1);
		} finally {
			transport.close();
			auth.close();
		}
	});

	describe('writes by alternate key', () => {
		const write = (eventId: string, subject: string) => ({
			upsert: {
				table: 'adobe_emailsend',
				key: { adobe_eventid: eventId },
				data: { subject, adobe_eventid: eventId },
			},
		});
		const rowsOf = async (eventId: string) =>
			(await admin.dump('adobe_emailsend')).records.filter((r) => r.adobe_eventid === eventId);

		it('finds a row whose key value cannot go into a URL by $filter, then updates it by id', async () => {
			const eventId = 'EV:2026/03+01?a&b';
			const [first] = await client.batchWrites([write(eventId, 'First')], {
				continueOnError: true,
			});
			expect(first.outcome).toBe('succeeded');
			const [second] = await client.batchWrites([write(eventId, 'Second')], {
				continueOnError: true,
			});
			expect(second.outcome).toBe('succeeded');
			const rows = await rowsOf(eventId);
			expect(rows).toHaveLength(1);
			expect(rows[0].subject).toBe('Second');
			const upserted = await client.upsert(
				'adobe_emailsend',
				{ adobe_eventid: eventId },
				{ subject: 'Third' },
				{ returnColumns: ['subject'] },
			);
			expect(upserted).toMatchObject({ id: rows[0].activityid, created: false });
			expect((await rowsOf(eventId))[0].subject).toBe('Third');
		});

		it('sends an upsert that lost a race to a concurrent create again, as an update', async () => {
			await admin.setBehavior({ concurrentKeyCreates: 1 });
			const results = await client.batchWrites(
				[write('RACE-1', 'Mine'), write('RACE-2', 'Other')],
				{ continueOnError: true },
			);
			expect(results.map((r) => [r.index, r.outcome])).toEqual([
				[0, 'succeeded'],
				[1, 'succeeded'],
			]);
			expect(await rowsOf('RACE-1')).toEqual([expect.objectContaining({ subject: 'Mine' })]);
			expect(await rowsOf('RACE-2')).toHaveLength(1);
		});
	});

	describe('the modified-date cursor', () => {
		const stamp = '2026-03-01T08:00:00';
		// SQL Server orders these by their last group (dotnet/docs comparing-guid-and-uniqueidentifier-values.md),
		// so string order and SQL order disagree.
		const ids = [
			'3aaaaaaa-bbbb-cccc-dddd-2eeeeeeeeeee',
			'2aaaaaaa-bbbb-cccc-dddd-1eeeeeeeeeee',
			'1aaaaaaa-bbbb-cccc-dddd-3eeeeeeeeeee',
			'0aaaaaaa-bbbb-cccc-dddd-0eeeeeeeeeee',
		];

		async function readAllSince(after?: ModifiedOnCursor, limit = 2) {
			const rows: string[] = [];
			let cursor = after;
			for await (const page of client.readModifiedSince('new_region', {
				select: ['new_name'],
				after,
				pageSize: 2,
				limit,
			})) {
				rows.push(...page.rows.map((r) => String(r.new_regionid)));
				cursor = page.cursor ?? cursor;
			}
			return { rows, cursor };
		}

		it.each(['seconds', 'milliseconds', 'hiddenMilliseconds'] as const)(
			'reads each row once, whatever the GUID order, with %s',
			async (dateTimePrecision) => {
				await admin.setBehavior({ dateTimePrecision });
				for (const region of (await admin.dump('new_region')).records) {
					await admin.deleteRecord('new_region', String(region.new_regionid));
				}
				await admin.seed(
					'new_region',
					ids.map((id, i) => ({
						new_regionid: id,
						new_name: `R${i}`,
						// Whole seconds: all at one instant; milliseconds: four instants in one second.
						modifiedon:
							dateTimePrecision === 'seconds'
								? `${stamp}Z`
								: `${stamp}.${String(100 * (i + 1)).padStart(3, '0')}Z`,
					})),
				);
				const seen: string[] = [];
				let cursor: ModifiedOnCursor | undefined;
				for (let run = 0; run < 4; run++) {
					const read = await readAllSince(cursor);
					seen.push(...read.rows);
					cursor = read.cursor;
				}
				expect([...seen].sort()).toEqual([...ids].sort());
				// An edit inside the same second comes again, once.
				await admin.editRecord('new_region', ids[1], { new_name: 'Edited' });
				const again = await readAllSince(cursor, 10);
				expect(again.rows).toEqual([ids[1]]);
				expect((await readAllSince(again.cursor, 10)).rows).toEqual([]);
			},
		);
	});

	it('accepts the Web API endpoint as users paste it', async () => {
		const pasted = new DataverseClient({
			transport: { request: async (req) => await wired.client['transport'].request(req) },
			environmentUrl: `  ${sandbox.url.toUpperCase()}/API/data/v9.2///  `,
		});
		expect(pasted.apiBase).toBe(`${sandbox.url}/api/data/v9.2/`);
		await admin.seed('contact', contacts(1));
		expect(await pasted.query('contact', { select: ['firstname'] })).toHaveLength(1);
	});
});
