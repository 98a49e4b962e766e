/* eslint-disable @typescript-eslint/no-explicit-any -- Web API JSON payloads are read loosely in tests */
/**
 * Fidelity: the real `dynamics-web-api` client, configured the way a user points it at another
 * environment (serverUrl + onTokenRefresh against the token endpoint), works against the sandbox.
 */
import { randomUUID } from 'node:crypto';
import { DynamicsWebApi } from 'dynamics-web-api';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import {
	DataverseSandboxAdmin,
	startDataverseSandbox,
	type DataverseSandbox,
} from '../../sandbox/dataverse';

let sandbox: DataverseSandbox;
let admin: DataverseSandboxAdmin;
let client: DynamicsWebApi;
let tokenRequests = 0;

async function fetchToken(): Promise<string> {
	tokenRequests++;
	const { clientId, clientSecret } = SANDBOX_DEFAULTS.dataverse;
	const response = await fetch(sandbox.tokenUrl, {
		method: 'POST',
		body: new URLSearchParams({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope: `${sandbox.url}/.default`,
		}),
	});
	const body = (await response.json()) as { access_token: string };
	return body.access_token;
}

beforeAll(async () => {
	sandbox = await startDataverseSandbox({ port: 0, demoRecords: 25, seed: 11 });
	admin = new DataverseSandboxAdmin(sandbox.url);
	client = new DynamicsWebApi({ serverUrl: sandbox.url, onTokenRefresh: fetchToken });
});

afterAll(async () => {
	await sandbox.close();
});

describe('dynamics-web-api against the Dataverse sandbox', () => {
	it('calls WhoAmI with a token from the sandbox token endpoint', async () => {
		const who = await client.callFunction({ name: 'WhoAmI' });
		expect(who.UserId).toMatch(/^[0-9a-f-]{36}$/);
		expect(tokenRequests).toBeGreaterThan(0);
	});

	it('retrieves with filters, ordering, paging and formatted values', async () => {
		const city = `Lib-${Date.now()}`;
		await admin.seed(
			'contact',
			Array.from({ length: 7 }, (_, i) => ({
				firstname: i === 0 ? "D'Arcy" : `N${i}`,
				lastname: `Lib ${i}`,
				address1_city: city,
				gendercode: 1 + (i % 2),
			})),
		);
		const request = {
			collection: 'contacts',
			select: ['firstname', 'lastname', 'gendercode'],
			filter: `address1_city eq '${city}'`,
			orderBy: ['lastname desc'],
			maxPageSize: 3,
			includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
		};
		const first = await client.retrieveMultiple(request);
		expect(first.value).toHaveLength(3);
		expect(first.oDataNextLink).toBeDefined();
		expect(first.value[0].lastname).toBe('Lib 6');
		expect(first.value[0].gendercode_Formatted).toBe('Male');
		const second = await client.retrieveMultiple(request, first.oDataNextLink);
		expect(second.value.map((c: any) => c.lastname)).toEqual(['Lib 3', 'Lib 2', 'Lib 1']);

		const all = await client.retrieveAll(request);
		expect(all.value).toHaveLength(7);

		const quoted = await client.retrieveMultiple({
			collection: 'contacts',
			select: ['lastname'],
			filter: `firstname eq 'D''Arcy' and address1_city eq '${city}'`,
		});
		expect(quoted.value.map((c: any) => c.lastname)).toEqual(['Lib 0']);
	});

	it('follows change tracking across create, update and delete with delta links', async () => {
		const initial = await client.retrieveAll({
			collection: 'new_loyaltycards',
			select: ['new_name', 'new_points'],
			trackChanges: true,
			maxPageSize: 10,
		});
		expect(initial.value.length).toBe(sandbox.store.table('new_loyaltycard')!.rows.size);
		expect(initial.oDataDeltaLink).toContain('$deltatoken=');

		const contact = (await admin.seed('contact', [{ lastname: 'Card Holder' }]))[0];
		const created = await client.create({
			collection: 'new_loyaltycards',
			data: {
				new_name: 'Fresh card',
				new_cardnumber: `LC-${Date.now()}`,
				'new_contactid@odata.bind': `/contacts(${contact})`,
			},
		});
		const existing = initial.value[0].new_loyaltycardid as string;
		const removed = initial.value[1].new_loyaltycardid as string;
		await client.update({
			collection: 'new_loyaltycards',
			key: existing,
			data: { new_points: 4242 },
		});
		await client.deleteRecord({ collection: 'new_loyaltycards', key: removed });

		const delta = await client.retrieveMultiple(
			{ collection: 'new_loyaltycards', trackChanges: true },
			initial.oDataDeltaLink,
		);
		const changedIds = delta.value
			.filter((r: any) => !r.reason)
			.map((r: any) => r.new_loyaltycardid);
		expect(changedIds.sort()).toEqual([created, existing].sort());
		expect(delta.value.find((r: any) => r.new_loyaltycardid === existing).new_points).toBe(4242);
		expect(delta.value.filter((r: any) => r.reason === 'deleted').map((r: any) => r.id)).toEqual([
			removed,
		]);
		expect(delta.oDataDeltaLink).toBeDefined();
		expect(delta.oDataDeltaLink).not.toBe(initial.oDataDeltaLink);
	});

	it('reads metadata: entity, attributes and picklist options', async () => {
		const entity = await client.retrieveEntity({
			key: "LogicalName='contact'",
			select: ['LogicalName', 'EntitySetName', 'PrimaryIdAttribute', 'ChangeTrackingEnabled'],
		});
		expect(entity).toMatchObject({
			LogicalName: 'contact',
			EntitySetName: 'contacts',
			PrimaryIdAttribute: 'contactid',
			ChangeTrackingEnabled: true,
		});
		const attributes = await client.retrieveAttributes({
			entityKey: "LogicalName='contact'",
			select: ['LogicalName', 'AttributeType'],
		});
		expect(
			attributes.value.find((a: any) => a.LogicalName === 'parentcustomerid')?.AttributeType,
		).toBe('Customer');
		const picklists = await client.retrieveAttributes({
			entityKey: "LogicalName='contact'",
			castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
			select: ['LogicalName'],
			expand: [{ property: 'OptionSet', select: ['Options'] }],
		});
		const gender = picklists.value.find((a: any) => a.LogicalName === 'gendercode');
		expect(gender.OptionSet.Options.map((o: any) => o.Label.UserLocalizedLabel.Label)).toEqual([
			'Male',
			'Female',
		]);
	});

	it('creates, updates, upserts and deletes with the library semantics', async () => {
		const id = await client.create<Record<string, string>, string>({
			collection: 'contacts',
			data: { firstname: 'Lib', lastname: 'Create' },
		});
		expect(id).toMatch(/^[0-9a-f-]{36}$/);
		const updated = await client.update<Record<string, string>, Record<string, string>>({
			collection: 'contacts',
			key: id,
			data: { lastname: 'Updated' },
			returnRepresentation: true,
			select: ['fullname'],
		});
		expect(updated.fullname).toBe('Lib Updated');

		// update() sends If-Match: * so a missing record is not created.
		const missing = randomUUID();
		await expect(
			client.update({ collection: 'contacts', key: missing, data: { lastname: 'Ghost' } }),
		).rejects.toMatchObject({
			status: 404,
		});
		expect(sandbox.store.table('contact')!.rows.has(missing)).toBe(false);

		const eventId = `LIB-${Date.now()}`;
		await client.upsert({
			collection: 'adobe_emailclicks',
			key: `adobe_eventid='${eventId}'`,
			data: { subject: 'Click', adobe_clickedurl: 'https://example.com/a' },
		});
		await client.upsert({
			collection: 'adobe_emailclicks',
			key: `adobe_eventid='${eventId}'`,
			data: { subject: 'Click again' },
		});
		const clicks = [...sandbox.store.table('adobe_emailclick')!.rows.values()].filter(
			(r) => r.adobe_eventid === eventId,
		);
		expect(clicks).toHaveLength(1);
		expect(clicks[0].subject).toBe('Click again');

		await client.deleteRecord({ collection: 'contacts', key: id });
		expect(sandbox.store.table('contact')!.rows.has(id)).toBe(false);
	});

	it('executes a batch with a changeset and Content-ID references', async () => {
		const name = `Batch Co ${Date.now()}`;
		client.startBatch();
		client.create({ collection: 'accounts', data: { name }, contentId: '1' });
		client.create({
			collection: 'contacts',
			data: { lastname: 'Batch', 'parentcustomerid_account@odata.bind': '$1' },
		});
		client.retrieveMultiple({
			collection: 'accounts',
			select: ['name'],
			filter: `name eq '${name}'`,
		});
		const responses = await client.executeBatch();
		expect(responses).toHaveLength(3);
		const account = [...sandbox.store.table('account')!.rows.values()].find(
			(a) => a.name === name,
		)!;
		expect(responses[0]).toBe(account.accountid);
		const contact = [...sandbox.store.table('contact')!.rows.values()].find(
			(c) =>
				c.lastname === 'Batch' &&
				(c.parentcustomerid as { id: string } | null)?.id === account.accountid,
		);
		expect(contact).toBeDefined();
		expect(responses[2].value.map((a: any) => a.name)).toEqual([name]);
	});

	it('rolls a failing changeset back and reports the error', async () => {
		const name = `Rollback ${Date.now()}`;
		client.startBatch();
		client.create({ collection: 'contacts', data: { lastname: name } });
		client.create({ collection: 'contacts', data: { lastname: name, gendercode: 77 } });
		await expect(client.executeBatch()).rejects.toBeDefined();
		expect(
			[...sandbox.store.table('contact')!.rows.values()].some((c) => c.lastname === name),
		).toBe(false);
	});

	describe('Dataverse as Microsoft documents it (#15)', () => {
		afterEach(async () => await admin.setBehavior({}));

		it('reads lookup properties with the table, navigation property and name they point to', async () => {
			const [accountId] = await admin.seed('account', [{ name: 'Lib Account' }]);
			const [teamId] = await admin.seed('team', [{ name: 'Lib Team' }]);
			const [id] = await admin.seed('contact', [
				{
					lastname: 'Lib Lookup',
					parentcustomerid: { id: accountId, table: 'account' },
					ownerid: { id: teamId, table: 'team' },
				},
			]);
			const row: any = await client.retrieve({
				collection: 'contacts',
				key: id,
				select: ['_parentcustomerid_value', '_ownerid_value'],
				includeAnnotations: '*',
			});
			expect(row).toMatchObject({
				_parentcustomerid_value: accountId,
				_parentcustomerid_value_LogicalName: 'account',
				_parentcustomerid_value_Formatted: 'Lib Account',
				_ownerid_value: teamId,
				_ownerid_value_LogicalName: 'team',
				_ownerid_value_NavigationProperty: 'ownerid',
			});
			await expect(
				client.retrieve({ collection: 'contacts', key: id, select: ['parentcustomeridname'] }),
			).rejects.toMatchObject({ status: 400 });
		});

		it('sees the delta link left out with annotations, and an empty body for no changes', async () => {
			await admin.setBehavior({ deltaLinkMissingWithAnnotations: true });
			const annotated = await client.retrieveAll({
				collection: 'new_loyaltycards',
				select: ['new_name'],
				trackChanges: true,
				includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
			});
			expect(annotated.value.length).toBeGreaterThan(0);
			expect(annotated.oDataDeltaLink).toBeUndefined();
			const plain = await client.retrieveAll({
				collection: 'new_loyaltycards',
				select: ['new_name'],
				trackChanges: true,
			});
			expect(plain.oDataDeltaLink).toContain('$deltatoken=');
			await admin.setBehavior({ emptyBodyWithoutChanges: true });
			const empty = await client.retrieveMultiple(
				{ collection: 'new_loyaltycards', trackChanges: true },
				plain.oDataDeltaLink,
			);
			expect(empty).toBeUndefined();
		});

		it('gets the expired-token code with whatever status the sandbox answers it', async () => {
			const { oDataDeltaLink } = await client.retrieveAll({
				collection: 'new_loyaltycards',
				select: ['new_name'],
				trackChanges: true,
			});
			await admin.expireChangeTracking('new_loyaltycard');
			await admin.setBehavior({ expiredTokenStatus: 500 });
			await expect(
				client.retrieveMultiple({ collection: 'new_loyaltycards' }, oDataDeltaLink),
			).rejects.toMatchObject({ status: 500, code: '0x80044352' });
		});

		it('is refused an alternate key value holding a character key URLs cannot carry', async () => {
			await expect(
				client.upsert({
					collection: 'adobe_emailsends',
					key: "adobe_eventid='EV:1'",
					data: { subject: 'S' },
				}),
			).rejects.toMatchObject({ status: 400 });
			const fine = `EV-${Date.now()}`;
			await client.upsert({
				collection: 'adobe_emailsends',
				key: `adobe_eventid='${fine}'`,
				data: { subject: 'S' },
			});
			expect(
				[...sandbox.store.table('adobe_emailsend')!.rows.values()].filter(
					(r) => r.adobe_eventid === fine,
				),
			).toHaveLength(1);
		});

		it('reads the failing part of a failed changeset from its wrapper', async () => {
			const name = `Wrapped ${Date.now()}`;
			client.startBatch();
			client.create({ collection: 'contacts', data: { lastname: name } });
			client.create({ collection: 'contacts', data: { lastname: name, gendercode: 77 } });
			const error: any = await client.executeBatch().catch((e: unknown) => e);
			expect(error).toEqual([
				expect.objectContaining({
					status: 400,
					error: expect.objectContaining({ code: '0x80044331' }),
				}),
			]);
		});

		it('orders GUIDs as SQL Server does', async () => {
			// dotnet/docs comparing-guid-and-uniqueidentifier-values.md: the sample and its SqlGuid order.
			const ids = [
				'3aaaaaaa-bbbb-cccc-dddd-2eeeeeeeeeee',
				'2aaaaaaa-bbbb-cccc-dddd-1eeeeeeeeeee',
				'1aaaaaaa-bbbb-cccc-dddd-3eeeeeeeeeee',
			];
			await admin.seed(
				'new_region',
				ids.map((id) => ({ new_regionid: id, new_name: 'Lib order' })),
			);
			const rows = await client.retrieveMultiple({
				collection: 'new_regions',
				select: ['new_name'],
				filter: "new_name eq 'Lib order'",
				orderBy: ['new_regionid'],
			});
			expect(rows.value.map((r: any) => r.new_regionid)).toEqual([ids[1], ids[0], ids[2]]);
		});

		it('honours If-Match and If-None-Match as the library expects', async () => {
			const [id] = await admin.seed('contact', [{ lastname: 'Lib Etag' }]);
			const first: any = await client.retrieve({ collection: 'contacts', key: id });
			const etag = first['@odata.etag'];
			expect(
				await client.retrieve({ collection: 'contacts', key: id, ifnonematch: etag }),
			).toBeUndefined();
			const annotated: any = await client.retrieve({
				collection: 'contacts',
				key: id,
				ifnonematch: etag,
				includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
			});
			expect(annotated.lastname).toBe('Lib Etag');
			await admin.editRecord('contact', id, { lastname: 'Changed' });
			expect(
				await client.update({
					collection: 'contacts',
					key: id,
					data: { lastname: 'Mine' },
					ifmatch: etag,
				}),
			).toBe(false);
			expect(await client.deleteRecord({ collection: 'contacts', key: id, ifmatch: etag })).toBe(
				false,
			);
			expect(
				await client.upsert({
					collection: 'contacts',
					key: id,
					data: { lastname: 'Create only' },
					ifnonematch: '*',
				}),
			).toBeNull();
			expect(sandbox.store.table('contact')!.rows.get(id)?.lastname).toBe('Changed');
			const current: any = await client.retrieve({ collection: 'contacts', key: id });
			expect(
				await client.deleteRecord({
					collection: 'contacts',
					key: id,
					ifmatch: current['@odata.etag'],
				}),
			).toBe(true);
		});
	});

	describe('Creating tables, columns and keys through the metadata API (the activity tables of the email events)', () => {
		const label = (text: string) => ({
			LocalizedLabels: [{ Label: text, LanguageCode: 1033 }],
		});

		it('creates a custom activity table, a column and an alternate key whose index goes Pending → Active', async () => {
			await admin.setBehavior({ keyIndexDelayMs: 400 });
			try {
				// The request body of Microsoft's custom-activity example (custom-activities.md).
				await client.createEntity({
					data: {
						'@odata.type': 'Microsoft.Dynamics.CRM.EntityMetadata',
						SchemaName: 'new_InstantMessage',
						DisplayName: label('Instant Message'),
						DisplayCollectionName: label('Instant Messages'),
						OwnershipType: 'UserOwned',
						IsActivity: true,
						IsAvailableOffline: true,
						IsMailMergeEnabled: { Value: false },
						HasActivities: false,
						HasNotes: true,
						Attributes: [
							{
								'@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
								SchemaName: 'Subject',
								IsPrimaryName: true,
								MaxLength: 100,
								DisplayName: label('Subject'),
							},
						],
					},
				});
				await client.createAttribute({
					entityKey: "LogicalName='new_instantmessage'",
					data: {
						'@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
						SchemaName: 'new_MessageId',
						MaxLength: 100,
						DisplayName: label('Message ID'),
					},
				});
				await client.create({
					collection: 'EntityDefinitions',
					key: "LogicalName='new_instantmessage'",
					navigationProperty: 'Keys',
					data: { SchemaName: 'new_messageid_key', KeyAttributes: ['new_messageid'] },
				});
				const keyStatus = async () => {
					const entity: any = await client.retrieveEntity({
						key: "LogicalName='new_instantmessage'",
						select: ['LogicalName', 'IsActivity', 'EntitySetName'],
						expand: [{ property: 'Keys', select: ['KeyAttributes', 'EntityKeyIndexStatus'] }],
					});
					expect(entity).toMatchObject({ IsActivity: true, EntitySetName: 'new_instantmessages' });
					return entity.Keys[0].EntityKeyIndexStatus as string;
				};
				expect(await keyStatus()).toBe('Pending');
				// An upsert by a key whose index is not built yet is refused.
				await expect(
					client.upsert({
						collection: 'new_instantmessages',
						key: "new_messageid='m-1'",
						data: { subject: 'Hi' },
					}),
				).rejects.toThrow(/index is (Pending|InProgress)/);
				await new Promise((resolve) => setTimeout(resolve, 450));
				expect(await keyStatus()).toBe('Active');
				const [contactId] = await admin.seed('contact', [{ lastname: 'Messaged' }]);
				await client.upsert({
					collection: 'new_instantmessages',
					key: "new_messageid='m-1'",
					data: {
						subject: 'Hi',
						'regardingobjectid_contact_new_instantmessage@odata.bind': `/contacts(${contactId})`,
					},
				});
				const rows = (await admin.dump('new_instantmessage')).records;
				expect(rows).toEqual([
					expect.objectContaining({
						subject: 'Hi',
						new_messageid: 'm-1',
						regardingobjectid: { id: contactId, table: 'contact' },
					}),
				]);
			} finally {
				await admin.setBehavior({});
			}
		});

		it('refuses an activity table that breaks the rules of custom activities, saying which', async () => {
			await expect(
				client.createEntity({
					data: {
						SchemaName: 'new_Broken',
						IsActivity: true,
						OwnershipType: 'OrganizationOwned',
						Attributes: [
							{
								'@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
								SchemaName: 'new_Name',
								IsPrimaryName: true,
							},
						],
					},
				}),
			).rejects.toThrow(
				/primary column must be 'Subject'.*IsAvailableOffline must be true.*user- or team-owned/,
			);
		});
	});
});
