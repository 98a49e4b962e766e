import {
	buildUrl,
	normalizeBody,
	normalizeHeaders,
	toTransportErrorCode,
	urlForMessage,
} from '../../../lib/http';

describe('buildUrl', () => {
	it('encodes OData options with %20 and keeps $ keys readable', () => {
		expect(
			buildUrl('https://o.example/api/data/v9.2/contacts', {
				$select: 'fullname,emailaddress1',
				$filter: "lastname eq 'O''Neil'",
				$top: 5,
			}),
		).toBe(
			"https://o.example/api/data/v9.2/contacts?$select=fullname%2Cemailaddress1&$filter=lastname%20eq%20'O''Neil'&$top=5",
		);
	});

	it('appends to a URL that already has a query, such as a next link', () => {
		expect(
			buildUrl('https://mc.example/o/campaign/profile?_lineCount=10', { _order: 'email' }),
		).toBe('https://mc.example/o/campaign/profile?_lineCount=10&_order=email');
		expect(buildUrl('https://x.example/a?', { b: true })).toBe('https://x.example/a?b=true');
	});

	it('leaves the URL alone without parameters', () => {
		const next =
			'https://o.example/api/data/v9.2/contacts?$skiptoken=%3Ccookie%20pagenumber=%222%22';
		expect(buildUrl(next)).toBe(next);
		expect(buildUrl(next, {})).toBe(next);
	});

	it('drops the query from URLs shown in messages', () => {
		expect(urlForMessage("https://o.example/contacts?$filter=email eq 'a@b.c'")).toBe(
			'https://o.example/contacts',
		);
	});
});

describe('wire helpers', () => {
	it('lower-cases header names and joins repeated values', () => {
		expect(
			normalizeHeaders({ 'Retry-After': '3', 'Set-Cookie': ['a=1', 'b=2'], Empty: undefined }),
		).toEqual({
			'retry-after': '3',
			'set-cookie': 'a=1, b=2',
		});
	});

	it('parses JSON bodies by content type and leaves other text alone', () => {
		expect(
			normalizeBody('{"a":1}', { 'content-type': 'application/json; odata.metadata=minimal' }),
		).toEqual({ a: 1 });
		expect(normalizeBody('10', { 'content-type': 'text/plain' })).toBe('10');
		expect(
			normalizeBody('--batch_1\r\n', { 'content-type': 'multipart/mixed; boundary=batch_1' }),
		).toBe('--batch_1\r\n');
		expect(normalizeBody(undefined, {})).toBe('');
		expect(normalizeBody('not json', { 'content-type': 'application/json' })).toBe('not json');
	});

	it('sorts network failures into the transport codes', () => {
		expect(toTransportErrorCode('ECONNRESET')).toBe('ECONNRESET');
		expect(toTransportErrorCode('EPIPE')).toBe('ECONNRESET');
		expect(toTransportErrorCode('ECONNABORTED')).toBe('ETIMEDOUT');
		expect(toTransportErrorCode('ETIMEDOUT')).toBe('ETIMEDOUT');
		expect(toTransportErrorCode('ECONNREFUSED')).toBe('ECONNREFUSED');
		expect(toTransportErrorCode('ENOTFOUND')).toBe('EOTHER');
		expect(toTransportErrorCode(undefined, 'socket hang up')).toBe('ECONNRESET');
		expect(toTransportErrorCode('ERR_CANCELED')).toBeUndefined();
	});
});
