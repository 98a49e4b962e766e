import {
	activitySubject,
	activityTableSpec,
	DEFAULT_EVENT_FIELDS,
	eventTypesEnabled,
	toActivity,
	validateEvent,
	type ActivityTarget,
} from '../../../lib/sync';

const raw = {
	eventId: 'ev-1',
	type: 'click',
	profileExternalId: 'aaaaaaaa-0000-0000-0000-000000000001',
	campaignName: 'Spring Sale',
	deliveryName: 'Newsletter "April"',
	campaignId: 'OP123',
	deliveryId: 'DM456',
	date: '2024-04-02T09:15:00+02:00',
	mirrorPageUrl: 'https://m.example.com/mirror/1',
	clickedUrl: 'https://shop.example.com/?a=1&b=é',
};
const target: ActivityTarget = {
	entitySet: 'new_emailclicks',
	columns: {
		eventId: 'new_eventid',
		campaignName: 'new_campaignname',
		deliveryName: 'new_deliveryname',
		date: 'new_date',
		mirrorPageUrl: 'new_mirrorpageurl',
		clickedUrl: 'new_clickedurl',
	},
};

describe('Email events', () => {
	it('accepts a complete event and normalises its date to UTC', () => {
		const v = validateEvent(raw);
		expect(v).toMatchObject({
			ok: true,
			event: { type: 'click', date: '2024-04-02T07:15:00.000Z', clickedUrl: raw.clickedUrl },
		});
	});

	it.each([
		[{ eventId: '' }, 'email event: "eventId" is missing'],
		[
			{ type: 'unsubscribe' },
			'event ev-1: "type" is "unsubscribe"; expected one of send, open, click, bounce',
		],
		[
			{ profileExternalId: undefined },
			'event ev-1: neither "profileExternalId" nor "profile" (a link with its href) is given',
		],
		[{ campaignName: null }, 'event ev-1: "campaignName" is missing'],
		[{ date: 'last tuesday' }, 'event ev-1: "date" is "last tuesday", not an ISO date-time'],
		[{ clickedUrl: '' }, 'event ev-1: "clickedUrl" is missing'],
		[{ deliveryName: { x: 1 } }, '"deliveryName" must be text, got {"x":1}'],
	])('says what is wrong with a malformed payload: %j', (change, reason) => {
		expect(validateEvent({ ...raw, ...change })).toEqual({ ok: false, reason });
	});

	it('points at the event when it arrives wrapped (a webhook request, a list)', () => {
		expect(validateEvent({ headers: {}, body: raw })).toEqual({
			ok: false,
			reason:
				'email event: "eventId" is missing; the event seems to be under "body": pass {{ $json.body }} as the event',
		});
		expect(validateEvent({ events: [raw, raw] })).toEqual({
			ok: false,
			reason:
				'email event: "eventId" is missing; the event seems to be under "events" (a list): pass {{ $json.events }} as the event, one item per event (Split Out)',
		});
		expect(validateEvent({ body: 'text' })).toEqual({
			ok: false,
			reason: 'email event: "eventId" is missing',
		});
	});

	it('rejects a payload that is not an object', () => {
		expect(validateEvent([raw])).toMatchObject({
			ok: false,
			reason: expect.stringMatching(/must be an object/),
		});
	});

	it('accepts type aliases and drops the clicked URL from non-clicks', () => {
		const v = validateEvent({ ...raw, type: 'Opened' });
		expect(v.ok && v.event.type).toBe('open');
		expect(v.ok && v.event.clickedUrl).toBeUndefined();
	});

	it('exports only the event types switched on', () => {
		const types = eventTypesEnabled({ sends: true, opens: false, clicks: true, bounces: false });
		expect([...types]).toEqual(['send', 'click']);
	});

	it('shapes a Dataverse activity regarding the contact, keyed by the event id', () => {
		const v = validateEvent(raw);
		if (!v.ok) throw new Error(v.reason);
		const contactId = 'AAAAAAAA-0000-0000-0000-000000000001';
		expect(toActivity(v.event, contactId, target)).toEqual({
			entitySet: 'new_emailclicks',
			alternateKey: { column: 'new_eventid', value: 'ev-1' },
			row: {
				subject: 'OP123 - DM456',
				new_eventid: 'ev-1',
				'regardingobjectid_contact@odata.bind': '/contacts(aaaaaaaa-0000-0000-0000-000000000001)',
				new_campaignname: 'Spring Sale',
				new_deliveryname: 'Newsletter "April"',
				new_date: '2024-04-02T07:15:00.000Z',
				new_mirrorpageurl: 'https://m.example.com/mirror/1',
				new_clickedurl: 'https://shop.example.com/?a=1&b=é',
			},
		});
		expect(() => toActivity(v.event, "x') or (", target)).toThrow(
			/contact id "x'\) or \(" is not a GUID/,
		);
	});

	it('falls back to names in the subject and keeps it within 200 characters', () => {
		const v = validateEvent({
			...raw,
			campaignId: undefined,
			deliveryId: undefined,
			campaignName: 'C'.repeat(300),
		});
		expect(v.ok && activitySubject(v.event)).toHaveLength(200);
	});

	it('reads records whose fields have other names, and the profile through its link only', () => {
		const fields = { ...DEFAULT_EVENT_FIELDS, eventId: 'logId', type: 'kind', profileKey: 'crm' };
		const renamed = {
			logId: 'L-1',
			kind: 'send',
			profile: {
				PKey: '@x',
				href: 'https://mc.adobe.io/org/campaign/profileAndServicesExt/profile/@x',
			},
			campaignName: 'C',
			deliveryName: 'D',
			date: '2026-01-01 10:00:00.000Z',
		};
		const v = validateEvent(renamed, fields);
		expect(v).toMatchObject({
			ok: true,
			event: { eventId: 'L-1', type: 'send', profileHref: renamed.profile.href },
		});
		expect(v.ok && v.event.profileKey).toBeUndefined();
		// A PKey alone is no way to a profile: Campaign v8 changes PKeys between answers.
		expect(validateEvent({ ...renamed, profile: { PKey: '@x' } }, fields)).toEqual({
			ok: false,
			reason: 'event L-1: neither "crm" nor "profile" (a link with its href) is given',
		});
		expect(validateEvent({ ...renamed, kind: 'sent' }, fields)).toMatchObject({ ok: true });
		expect(validateEvent({ ...renamed, logId: undefined }, fields)).toEqual({
			ok: false,
			reason: 'email event: "logId" is missing',
		});
	});

	it("describes the four tables with Adobe's names, the columns written and the key", () => {
		const columns = {
			eventId: 'adobe_eventid',
			subject: 'subject',
			campaignName: 'adobe_campaignname',
			deliveryName: 'adobe_deliveryname',
			date: 'adobe_eventdate',
			mirrorPageUrl: 'adobe_mirrorpageurl',
			clickedUrl: 'adobe_clickedurl',
		};
		const click = activityTableSpec('click', 'adobe_emailclick', columns);
		expect(click).toMatchObject({
			displayName: 'Adobe Campaign Email URL Click',
			keyColumn: 'adobe_eventid',
		});
		expect(click.columns.map((c) => [c.column, c.kind, c.displayName])).toEqual([
			['adobe_eventid', 'text', 'Event ID'],
			['adobe_campaignname', 'text', 'Campaign Name'],
			['adobe_deliveryname', 'text', 'Delivery Name'],
			['adobe_eventdate', 'dateTime', 'Date Clicked'],
			['adobe_clickedurl', 'url', 'Tracking URL'],
			['adobe_mirrorpageurl', 'url', 'Mirror Page URL'],
		]);
		const bounce = activityTableSpec('bounce', 'adobe_emailbounce', columns);
		expect(bounce.displayName).toBe('Adobe Campaign Email Bounce');
		expect(bounce.columns.map((c) => c.column)).not.toContain('adobe_clickedurl');
		expect(bounce.columns.find((c) => c.kind === 'dateTime')?.displayName).toBe('Date Bounced');
	});
});
