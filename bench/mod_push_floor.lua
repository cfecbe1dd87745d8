-- mod_push_floor: the least a push module can cost Prosody, for bench/prosody-push-cost.py.
-- NOT a push module: no summary, no de-duplication, no replies, no storage, no sessions.
--
-- An enable IQ (XEP-0357) builds, once, the publish for that account's app server and
-- node and keeps it in memory; every offline message to the account then sends that
-- same stanza. What is left is what any push module must pay for: a hook on the
-- offline path, one lookup, and one stanza routed to the app server (whose reply
-- Prosody drops, as nothing waits for it).

local st = require "util.stanza";

local xmlns_push = "urn:xmpp:push:0";
local publish_for = {}; -- username -> the one publish sent per offline message

module:hook("iq-set/self/"..xmlns_push..":enable", function(event)
	local origin, stanza = event.origin, event.stanza;
	local enable = stanza.tags[1];
	publish_for[origin.username] = st.iq({ type = "set", from = module.host, to = enable.attr.jid, id = "floor" })
		:tag("pubsub", { xmlns = "http://jabber.org/protocol/pubsub" })
			:tag("publish", { node = enable.attr.node })
				:tag("item")
					:tag("notification", { xmlns = xmlns_push });
	origin.send(st.reply(stanza));
	return true;
end);

module:hook("message/offline/handle", function(event)
	local publish = publish_for[event.username];
	if publish then module:send(publish); end
end, 1);
