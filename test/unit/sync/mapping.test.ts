import {
	SyncSettingsError,
	compileMapping,
	conversionSupport,
	converterFor,
	normalizeCampaignType,
	validateTableMapping,
	type CampaignField,
	type DynamicsColumn,
	type TableMapping,
} from '../../../lib/sync';
import { contact } from './helpers';

const columns: DynamicsColumn[] = [
	{ logicalName: 'contactid', attributeType: 'Uniqueidentifier' },
	{ logicalName: 'firstname', attributeType: 'String' },
	{ logicalName: 'nickname', attributeType: 'String' },
	{ logicalName: 'emailaddress1', attributeType: 'String' },
	{ logicalName: 'birthdate', attributeType: 'DateOnly' },
	{ logicalName: 'lastusedincampaign', attributeType: 'DateTime' },
	{ logicalName: 'gendercode', attributeType: 'Picklist' },
	{ logicalName: 'creditlimit', attributeType: 'Money' },
	{ logicalName: 'numberofchildren', attributeType: 'Integer' },
	{ logicalName: 'donotemail', attributeType: 'Boolean' },
	{ logicalName: 'parentcustomerid', attributeType: 'Customer' },
];
const profileFields: CampaignField[] = [
	{ name: 'externalId', type: 'string' },
	{ name: 'email', type: 'string' },
	{ name: 'firstName', type: 'string' },
	{ name: 'birthDate', type: 'date' },
	{ name: 'lastSeen', type: 'datetime' },
	{ name: 'gender', type: 'string' },
	{ name: 'genderCode', type: 'int16' },
	{ name: 'credit', type: 'double' },
	{ name: 'children', type: 'long' },
	{ name: 'isVip', type: 'boolean' },
	{ name: 'account', type: 'string' },
];

function mapping(over: Partial<TableMapping> = {}): TableMapping {
	return {
		dynamicsTable: 'contact',
		dynamicsKey: 'contactid',
		campaignResource: 'profile',
		campaignKey: 'externalId',
		fields: [
			{ dynamicsField: 'firstname', campaignField: 'firstName', applyUpdates: true },
			{ dynamicsField: 'emailaddress1', campaignField: 'email', applyUpdates: false },
		],
		useTechnicalValues: false,
		applyDeletes: true,
		...over,
	};
}
const schemas = { dynamicsColumns: columns, campaignFields: profileFields };

describe('Field Mappings: validation', () => {
	it('accepts a valid mapping', () => {
		expect(validateTableMapping(mapping(), schemas)).toEqual([]);
	});

	it('rejects two Dynamics fields mapped into one Campaign field, naming both', () => {
		const problems = validateTableMapping(
			mapping({
				fields: [
					{ dynamicsField: 'firstname', campaignField: 'firstName', applyUpdates: true },
					{ dynamicsField: 'nickname', campaignField: 'firstName', applyUpdates: true },
				],
			}),
			schemas,
		);
		expect(problems).toHaveLength(1);
		expect(problems[0].setting).toBe('Field Mappings › row 2');
		expect(problems[0].message).toMatch(
			/"firstname" and "nickname" both map to Campaign field "firstName"/,
		);
	});

	it('rejects a field mapped into the Campaign key, but not a row repeating the key pair', () => {
		const intoKey = mapping({
			fields: [{ dynamicsField: 'emailaddress1', campaignField: 'externalId', applyUpdates: true }],
		});
		expect(validateTableMapping(intoKey, schemas)[0].message).toMatch(
			/"contactid" and "emailaddress1"/,
		);
		const repeat = mapping({
			fields: [{ dynamicsField: 'contactid', campaignField: 'externalId', applyUpdates: true }],
		});
		expect(validateTableMapping(repeat, schemas)).toEqual([]);
	});

	it('names unknown Dynamics columns and Campaign fields', () => {
		const problems = validateTableMapping(
			mapping({
				fields: [{ dynamicsField: 'shoesize', campaignField: 'shoe', applyUpdates: true }],
			}),
			schemas,
		);
		expect(problems.map((p) => p.message)).toEqual([
			expect.stringMatching(/"shoesize" is not a column of Dynamics table "contact"/),
			expect.stringMatching(/"shoe" is not a field of Campaign resource "profile"/),
		]);
	});

	it('requires the Campaign key to be a field of the resource', () => {
		expect(validateTableMapping(mapping({ campaignKey: 'crmId' }), schemas)[0]).toMatchObject({
			setting: 'Primary Keys › Campaign key',
			message: expect.stringMatching(/"crmId" is not a field/),
		});
		// Campaign's metadata does not say whether a field is unique: any field can be the key.
		expect(validateTableMapping(mapping({ campaignKey: 'email', fields: [] }), schemas)).toEqual(
			[],
		);
		expect(validateTableMapping(mapping({ campaignKey: '' }))[0].message).toMatch(
			/Campaign key is empty/,
		);
	});

	it('carries the key filter and the declared uniqueness to Campaign Upsert', () => {
		const plain = compileMapping(mapping(), columns, profileFields);
		expect(plain.target).toEqual({
			resource: 'profile',
			key: 'externalId',
			dynamicsKey: 'contactid',
			applyDeletes: true,
		});
		const declared = compileMapping(
			mapping({ campaignKeyFilter: 'crmKey', campaignKeyUnique: true }),
			columns,
			profileFields,
		);
		expect(declared.target).toMatchObject({ keyFilter: 'crmKey', keyUnique: true });
	});

	it('rejects a conversion that cannot work, such as a money column into a boolean field', () => {
		const problems = validateTableMapping(
			mapping({
				fields: [{ dynamicsField: 'creditlimit', campaignField: 'isVip', applyUpdates: true }],
			}),
			schemas,
		);
		expect(problems[0].message).toMatch(
			/"creditlimit" \(Money\) cannot be converted to Campaign field "isVip" \(boolean\)/,
		);
	});

	it('compileMapping throws every problem at once as a settings error', () => {
		const bad = mapping({
			fields: [
				{ dynamicsField: 'creditlimit', campaignField: 'isVip', applyUpdates: true },
				{ dynamicsField: 'nickname', campaignField: 'isVip', applyUpdates: true },
			],
		});
		expect(() => compileMapping(bad, columns, profileFields)).toThrow(SyncSettingsError);
		expect(() => compileMapping(bad, columns, profileFields)).toThrow(/2 problem\(s\)/);
	});
});

describe('Field Mappings: a lookup into a Campaign link', () => {
	const cardFields: CampaignField[] = [
		{ name: 'crmId', type: 'string' },
		{ name: 'cardNumber', type: 'string' },
		{ name: 'owner', type: 'link', target: 'profile' },
		{ name: 'store', type: 'link', target: 'cusStore' },
		{ name: 'broken', type: 'link' },
	];
	const cardColumns: DynamicsColumn[] = [
		{ logicalName: 'new_loyaltycardid', attributeType: 'Uniqueidentifier' },
		{ logicalName: 'new_cardnumber', attributeType: 'String' },
		{ logicalName: 'new_contactid', attributeType: 'Lookup' },
		{ logicalName: 'new_storeid', attributeType: 'Lookup' },
		{ logicalName: 'new_points', attributeType: 'Integer' },
	];
	const cardMapping = (fields: TableMapping['fields']) =>
		mapping({
			dynamicsTable: 'new_loyaltycard',
			dynamicsKey: 'new_loyaltycardid',
			campaignResource: 'cusLoyaltyCard',
			campaignKey: 'crmId',
			fields,
		});
	const row = (dynamicsField: string, campaignField: string, linkKey?: string) => ({
		dynamicsField,
		campaignField,
		applyUpdates: true,
		...(linkKey ? { linkKey } : {}),
	});
	const cardSchemas = { dynamicsColumns: cardColumns, campaignFields: cardFields };

	it('carries the id with the link target and key: externalId for a profile unless set', () => {
		const compiled = compileMapping(
			cardMapping([
				row('new_contactid', 'owner'),
				row('new_storeid', 'store', 'storeCrmId'),
				row('new_cardnumber', 'cardNumber'),
			]),
			cardColumns,
			cardFields,
		);
		expect(compiled.target.links).toEqual({
			owner: { resource: 'profile', key: 'externalId', dynamicsField: 'new_contactid' },
			store: { resource: 'cusStore', key: 'storeCrmId', dynamicsField: 'new_storeid' },
		});
		const record = {
			new_loyaltycardid: 'card-1',
			_new_contactid_value: 'contact-1',
			_new_storeid_value: null,
			new_cardnumber: 'N-1',
			_sync: {
				table: 'new_loyaltycard',
				id: 'card-1',
				op: 'upsert' as const,
				load: 'initial' as const,
				// The display name is never the link's value, even with display values on.
				labels: { new_contactid: 'Ana Lima' },
			},
		};
		const result = compiled.apply(record);
		expect(result.ok && result.record).toMatchObject({
			crmId: 'card-1',
			owner: 'contact-1',
			store: null,
		});
	});

	it('names the row whose link has no key, no target, or which sets a key on a plain field', () => {
		const problems = validateTableMapping(
			cardMapping([
				row('new_storeid', 'store'),
				row('new_contactid', 'broken'),
				row('new_cardnumber', 'cardNumber', 'externalId'),
			]),
			cardSchemas,
		);
		expect(problems.map((p) => [p.setting, p.message])).toEqual([
			[
				'Field Mappings › row 1',
				expect.stringMatching(/"store" links to "cusStore".*Linked Record Key/),
			],
			['Field Mappings › row 2', expect.stringMatching(/"broken" is a link.*names no resource/)],
			[
				'Field Mappings › row 3',
				expect.stringMatching(/"cardNumber" is not a link.*Linked Record Key/),
			],
		]);
	});

	it('refuses a number or a date into a link', () => {
		const problems = validateTableMapping(cardMapping([row('new_points', 'owner')]), cardSchemas);
		expect(problems).toEqual([
			expect.objectContaining({
				message: expect.stringMatching(/cannot be converted.*"owner" \(link\)/),
			}),
		]);
	});
});

describe('Field Mappings: applying', () => {
	it('maps the primary keys first, then the fields, with Campaign names, target and updateFields', () => {
		const m = compileMapping(mapping(), columns, profileFields);
		const r = contact({ firstname: 'Ana', emailaddress1: 'ana@example.com', lastname: 'ignored' });
		const out = m.apply(r);
		if (!out.ok) throw new Error(out.error.message);
		expect(Object.keys(out.record)).toEqual(['externalId', 'firstName', 'email', '_sync']);
		expect(out.record.externalId).toBe(r.contactid);
		expect(out.record._sync.target).toEqual({
			resource: 'profile',
			key: 'externalId',
			dynamicsKey: 'contactid',
			applyDeletes: true,
		});
		expect(out.record._sync.updateFields).toEqual(['firstName']);
		expect(m.campaignFields).toEqual(['externalId', 'firstName', 'email']);
	});

	it('maps a delete to its key only', () => {
		const m = compileMapping(mapping(), columns, profileFields);
		const out = m.apply(contact({}, { op: 'delete', id: 'abc' }));
		expect(out).toEqual({
			ok: true,
			record: { externalId: 'abc', _sync: expect.objectContaining({ op: 'delete' }) },
		});
	});

	it('sends picklist display values when technical values are off, and the number when on', () => {
		const fields = [{ dynamicsField: 'gendercode', campaignField: 'gender', applyUpdates: true }];
		const r = contact({ gendercode: 2 }, { labels: { gendercode: 'Female' } });
		const display = compileMapping(mapping({ fields }), columns, profileFields).apply(r);
		expect(display.ok && display.record.gender).toBe('Female');
		const technical = compileMapping(
			mapping({ fields, useTechnicalValues: true }),
			columns,
			profileFields,
		).apply(r);
		expect(technical.ok && technical.record.gender).toBe('2');
		const intoNumber = compileMapping(
			mapping({
				fields: [{ dynamicsField: 'gendercode', campaignField: 'genderCode', applyUpdates: true }],
			}),
			columns,
			profileFields,
		).apply(r);
		expect(intoNumber.ok && intoNumber.record.genderCode).toBe(2);
	});

	it('fails a record whose display value is missing, naming the record, field and value', () => {
		const m = compileMapping(
			mapping({
				fields: [{ dynamicsField: 'gendercode', campaignField: 'gender', applyUpdates: true }],
			}),
			columns,
			profileFields,
		);
		const out = m.apply(contact({ gendercode: 7 }, { id: 'c-7' }));
		expect(out.ok).toBe(false);
		if (out.ok) return;
		expect(out.error).toMatchObject({ field: 'gendercode', value: 7 });
		expect(out.error.message).toMatch(
			/^Record c-7 of table "contact", field "gendercode": no display value for 7/,
		);
	});

	it('converts dates, money, integers, lookups and booleans', () => {
		const m = compileMapping(
			mapping({
				useTechnicalValues: true,
				fields: [
					{ dynamicsField: 'birthdate', campaignField: 'birthDate', applyUpdates: true },
					{ dynamicsField: 'lastusedincampaign', campaignField: 'lastSeen', applyUpdates: true },
					{ dynamicsField: 'creditlimit', campaignField: 'credit', applyUpdates: true },
					{ dynamicsField: 'numberofchildren', campaignField: 'children', applyUpdates: true },
					{ dynamicsField: 'parentcustomerid', campaignField: 'account', applyUpdates: true },
					{ dynamicsField: 'donotemail', campaignField: 'isVip', applyUpdates: true },
				],
			}),
			columns,
			profileFields,
		);
		const account = 'bbbbbbbb-0000-0000-0000-000000000001';
		const out = m.apply(
			contact(
				{
					birthdate: '1980-10-24',
					lastusedincampaign: '2024-03-01T01:30:00+02:00',
					creditlimit: '2500.75',
					numberofchildren: 3,
					_parentcustomerid_value: account,
					donotemail: false,
				},
				{ labels: { _parentcustomerid_value: 'Contoso' } },
			),
		);
		expect(out.ok && out.record).toMatchObject({
			birthDate: '1980-10-24',
			lastSeen: '2024-02-29T23:30:00.000Z',
			credit: 2500.75,
			children: 3,
			account,
			isVip: false,
		});
	});

	it('sends the lookup name when display values are used', () => {
		const m = compileMapping(
			mapping({
				fields: [
					{ dynamicsField: 'parentcustomerid', campaignField: 'account', applyUpdates: true },
				],
			}),
			columns,
			profileFields,
		);
		const out = m.apply(
			contact(
				{ _parentcustomerid_value: 'bbbbbbbb-0000-0000-0000-000000000001' },
				{ labels: { _parentcustomerid_value: 'Contoso' } },
			),
		);
		expect(out.ok && out.record.account).toBe('Contoso');
	});

	it('fails a record whose column the trigger did not select', () => {
		const out = compileMapping(mapping(), columns, profileFields).apply(
			contact({ firstname: 'Ana' }),
		);
		expect(!out.ok && out.error.message).toMatch(
			/field "emailaddress1": the record has no such field/,
		);
	});

	it('keeps values as they are when the Campaign types are unknown', () => {
		const m = compileMapping(
			mapping({
				useTechnicalValues: true,
				fields: [{ dynamicsField: 'numberofchildren', campaignField: 'kids', applyUpdates: true }],
			}),
		);
		const out = m.apply(contact({ numberofchildren: 4 }));
		expect(out.ok && out.record.kids).toBe(4);
	});

	it('maps 100,000 records with one compiled mapping', () => {
		const m = compileMapping(
			mapping({
				fields: [
					...mapping().fields,
					{ dynamicsField: 'birthdate', campaignField: 'birthDate', applyUpdates: true },
				],
			}),
			columns,
			profileFields,
		);
		const records = Array.from({ length: 100_000 }, () =>
			contact({ firstname: 'Ana', emailaddress1: 'a@b.c', birthdate: '2000-01-02' }),
		);
		let ok = 0;
		for (const r of records) if (m.apply(r).ok) ok++;
		expect(ok).toBe(100_000);
	});
});

describe('Type conversion', () => {
	it('normalises Campaign type names', () => {
		expect(normalizeCampaignType('int16')).toBe('int');
		expect(normalizeCampaignType('DateTime')).toBe('datetime');
		expect(normalizeCampaignType('enumeration')).toBe('enum');
		expect(normalizeCampaignType('link')).toBe('link');
		expect(normalizeCampaignType('blob')).toBeUndefined();
	});

	it('knows which type pairs can never convert', () => {
		expect(conversionSupport('Money', 'boolean')).toBe('never');
		expect(conversionSupport('DateTime', 'int')).toBe('never');
		expect(conversionSupport('Lookup', 'double')).toBe('never');
		expect(conversionSupport('String', 'int')).toBe('perValue');
		expect(conversionSupport('Integer', 'long')).toBe('always');
	});

	it('explains a value that cannot convert, with the target type', () => {
		expect(converterFor('String', 'int', true)('12a', undefined)).toEqual({
			ok: false,
			reason: 'cannot convert "12a" to Campaign type int: not a number',
		});
		expect(converterFor('Decimal', 'long', true)(1.5, undefined)).toMatchObject({
			ok: false,
			reason: expect.stringMatching(/fractional/),
		});
		expect(converterFor('BigInt', 'int', true)(2 ** 40, undefined)).toMatchObject({
			ok: false,
			reason: expect.stringMatching(/out of range/),
		});
		expect(converterFor('String', 'boolean', true)('maybe', undefined)).toMatchObject({
			ok: false,
		});
		expect(converterFor('String', 'date', true)('31/12/2024', undefined)).toMatchObject({
			ok: false,
			reason: expect.stringMatching(/not an ISO date/),
		});
	});

	it('writes dates in Campaign formats, in UTC whatever the offset', () => {
		expect(converterFor('DateTime', 'date', true)('2024-03-01T23:30:00-05:00', undefined)).toEqual({
			ok: true,
			value: '2024-03-02',
		});
		expect(
			converterFor('DateTime', 'datetime', true)('2024-03-01T23:30:00-05:00', undefined),
		).toEqual({ ok: true, value: '2024-03-02T04:30:00.000Z' });
		expect(converterFor('String', 'datetime', true)('2024-03-01 10:00:00', undefined)).toEqual({
			ok: true,
			value: '2024-03-01T10:00:00.000Z',
		});
	});

	it('passes null through as null, and reads booleans from words', () => {
		expect(converterFor('Money', 'double', true)(null, undefined)).toEqual({
			ok: true,
			value: null,
		});
		expect(converterFor('String', 'boolean', true)('Yes', undefined)).toEqual({
			ok: true,
			value: true,
		});
		expect(converterFor('Boolean', 'int', true)(true, undefined)).toEqual({ ok: true, value: 1 });
		expect(converterFor('Boolean', 'string', false)(true, 'Do Not Allow')).toEqual({
			ok: true,
			value: 'Do Not Allow',
		});
	});
});
