import { planUpsert, type SyncMeta, type SyncRecord } from '../../../lib/sync';

function mapped(fields: Record<string, unknown>, meta: Partial<SyncMeta> = {}): SyncRecord {
	return {
		externalId: 'c-1',
		...fields,
		_sync: {
			table: 'contact',
			id: 'c-1',
			op: 'upsert',
			load: 'incremental',
			target: {
				resource: 'profile',
				key: 'externalId',
				dynamicsKey: 'contactid',
				applyDeletes: false,
			},
			updateFields: ['firstName'],
			...meta,
		},
	};
}

describe('Campaign Upsert plan', () => {
	it('creates a missing record with all mapped fields', () => {
		expect(planUpsert(mapped({ firstName: 'Ana', email: 'a@x.org' }), [])).toEqual({
			action: 'create',
			fields: { externalId: 'c-1', firstName: 'Ana', email: 'a@x.org' },
		});
	});

	it('on an incremental load, updates only fields with Apply updates on, and only those that differ', () => {
		const found = { PKey: '@p1', externalId: 'c-1', firstName: 'Anna', email: 'old@x.org' };
		expect(planUpsert(mapped({ firstName: 'Ana', email: 'a@x.org' }), [found])).toEqual({
			action: 'update',
			pKey: '@p1',
			fields: { firstName: 'Ana' },
		});
		expect(planUpsert(mapped({ firstName: 'Anna', email: 'a@x.org' }), [found])).toMatchObject({
			action: 'unchanged',
			pKey: '@p1',
		});
	});

	it("writes to the href of the lookup's answer (Campaign v8 changes PKeys between calls)", () => {
		const href = 'https://mc.adobe.io/acme/campaign/profileAndServicesExt/profile/@fresh';
		const found = { PKey: '@fresh', href, externalId: 'c-1', firstName: 'Anna' };
		expect(planUpsert(mapped({ firstName: 'Ana' }), [found])).toEqual({
			action: 'update',
			pKey: '@fresh',
			href,
			fields: { firstName: 'Ana' },
		});
		const gone = mapped(
			{},
			{ op: 'delete', target: { ...mapped({})._sync.target!, applyDeletes: true } },
		);
		expect(planUpsert(gone, [found])).toMatchObject({ action: 'delete', href });
	});

	it('on an initial load or replay, updates every mapped field that differs', () => {
		const found = { PKey: '@p1', externalId: 'c-1', firstName: 'Ana', email: 'old@x.org' };
		for (const load of ['initial', 'replay'] as const) {
			expect(planUpsert(mapped({ firstName: 'Ana', email: 'a@x.org' }, { load }), [found])).toEqual(
				{
					action: 'update',
					pKey: '@p1',
					fields: { email: 'a@x.org' },
				},
			);
		}
	});

	it('compares values type-aware: same instant, numbers vs numeric strings, null vs ""', () => {
		const found = {
			PKey: '@p',
			externalId: 'c-1',
			lastSeen: '2024-03-01T10:00:00+02:00',
			credit: '12.50',
			nickname: '',
			vip: 'true',
		};
		const r = mapped(
			{ lastSeen: '2024-03-01T08:00:00.000Z', credit: 12.5, nickname: null, vip: true },
			{ load: 'replay' },
		);
		expect(planUpsert(r, [found])).toMatchObject({ action: 'unchanged' });
		expect(
			planUpsert(mapped({ firstName: 'ana' }), [{ PKey: '@p', firstName: 'Ana' }]),
		).toMatchObject({ action: 'update' });
	});

	it('compares a link only as the caller found it (by the linked key), never by its PKey', () => {
		const record = mapped(
			{ firstName: 'Ana', owner: { PKey: '@new-answer' } },
			{
				updateFields: ['firstName', 'owner'],
				target: {
					resource: 'cusLoyaltyCard',
					key: 'externalId',
					dynamicsKey: 'new_loyaltycardid',
					links: {
						owner: { resource: 'profile', key: 'externalId', dynamicsField: 'new_contactid' },
					},
				},
			},
		);
		const found = {
			PKey: '@p1',
			externalId: 'c-1',
			firstName: 'Ana',
			owner: { PKey: '@old-answer' },
		};
		expect(planUpsert(record, [found], { sameLinks: new Set(['owner']) })).toMatchObject({
			action: 'unchanged',
		});
		expect(planUpsert(record, [found])).toEqual({
			action: 'update',
			pKey: '@p1',
			fields: { owner: { PKey: '@new-answer' } },
		});
	});

	it('fails on a duplicate key, naming the key, the value and every PKey (2 and 3 matches)', () => {
		const two = planUpsert(mapped({}), [{ PKey: '@a' }, { PKey: '@b' }]);
		expect(two).toEqual({
			action: 'fail',
			message:
				'Campaign has 2 profile records with externalId = "c-1" (PKeys: @a, @b). The key must be unique: remove the duplicates in Campaign. Record c-1 was not written.',
		});
		const three = planUpsert(
			mapped(
				{},
				{
					op: 'delete',
					target: {
						resource: 'profile',
						key: 'externalId',
						dynamicsKey: 'contactid',
						applyDeletes: true,
					},
				},
			),
			[{ PKey: '@a' }, { PKey: '@b' }, { PKey: '@c' }],
		);
		expect(three.action).toBe('fail');
		expect(three.action === 'fail' && three.message).toMatch(
			/3 profile records .* \(PKeys: @a, @b, @c\)/,
		);
	});

	it('deletes when Apply deletes is on, skips when off', () => {
		const on = {
			resource: 'profile',
			key: 'externalId',
			dynamicsKey: 'contactid',
			applyDeletes: true,
		};
		expect(planUpsert(mapped({}, { op: 'delete', target: on }), [{ PKey: '@a' }])).toEqual({
			action: 'delete',
			pKey: '@a',
			reason: 'deleted in Dynamics',
		});
		expect(planUpsert(mapped({}, { op: 'delete' }), [{ PKey: '@a' }])).toEqual({
			action: 'skip',
			reason: 'deleted in Dynamics; "Apply deletes" is off',
		});
		expect(
			planUpsert(mapped({}, { op: 'delete' }), [{ PKey: '@a' }], { applyDeletes: true }).action,
		).toBe('delete');
	});

	it('deletes a filtered-out record even when Apply deletes is off', () => {
		const out = planUpsert(
			mapped({}, { op: 'delete', filteredOut: true, reason: 'filtered out: rule 1 is false' }),
			[{ PKey: '@a' }],
		);
		expect(out).toEqual({ action: 'delete', pKey: '@a', reason: 'filtered out: rule 1 is false' });
	});

	it('skips a delete whose record is not in Campaign', () => {
		const out = planUpsert(mapped({}, { op: 'delete', filteredOut: true }), []);
		expect(out).toEqual({
			action: 'skip',
			reason: 'filtered out; no profile with externalId = "c-1" in Campaign',
		});
	});

	it('fails a record that never went through Apply Field Mapping', () => {
		const r = mapped({});
		delete r._sync.target;
		expect(planUpsert(r, [])).toMatchObject({
			action: 'fail',
			message: expect.stringMatching(/put Apply Field Mapping before/),
		});
	});
});
