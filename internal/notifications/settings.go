package notifications

import (
	"slices"
)

// WebChannel is the channel of notifications shown in the browser; a user
// who turns it off for an origin or topic gets no stored notification.
const WebChannel = "Web"

// enabledFor reports whether st lets a notification from origin about
// topic through channel, with Backstage's rules: an unknown channel or
// origin is enabled unless the channel is off, a listed topic decides for
// itself, and otherwise the origin decides.
func enabledFor(st Settings, channel, origin, topic string) bool {
	i := slices.IndexFunc(st.Channels, func(c ChannelSetting) bool { return c.ID == channel })
	if i < 0 {
		return true
	}
	ch := st.Channels[i]
	j := slices.IndexFunc(ch.Origins, func(o OriginSetting) bool { return o.ID == origin })
	if j < 0 {
		return ch.Enabled == nil || *ch.Enabled
	}
	o := ch.Origins[j]
	if topic != "" {
		if k := slices.IndexFunc(o.Topics, func(t TopicSetting) bool { return t.ID == topic }); k >= 0 {
			return o.Topics[k].Enabled
		}
	}
	return o.Enabled
}

// overlay returns base with top's choices on it: a channel, origin or topic
// top mentions replaces base's, the rest of base stays.
func overlay(base, top Settings) Settings {
	out := Settings{Channels: slices.Clone(base.Channels)}
	for _, tc := range top.Channels {
		i := slices.IndexFunc(out.Channels, func(c ChannelSetting) bool { return c.ID == tc.ID })
		if i < 0 {
			out.Channels = append(out.Channels, tc)
			continue
		}
		ch := out.Channels[i]
		if tc.Enabled != nil {
			ch.Enabled = tc.Enabled
		}
		origins := slices.Clone(ch.Origins)
		for _, to := range tc.Origins {
			j := slices.IndexFunc(origins, func(o OriginSetting) bool { return o.ID == to.ID })
			if j < 0 {
				origins = append(origins, to)
				continue
			}
			o := origins[j]
			o.Enabled = to.Enabled
			topics := slices.Clone(o.Topics)
			for _, tt := range to.Topics {
				k := slices.IndexFunc(topics, func(t TopicSetting) bool { return t.ID == tt.ID })
				if k < 0 {
					topics = append(topics, tt)
				} else {
					topics[k] = tt
				}
			}
			o.Topics = topics
			origins[j] = o
		}
		ch.Origins = origins
		out.Channels[i] = ch
	}
	return out
}

// settingsView is what GET /settings shows a user: every channel, every
// origin and topic the user has received or the defaults name, each with
// the value that applies.
func settingsView(channels []string, effective Settings, received []originTopic) Settings {
	var out Settings
	for _, id := range channels {
		ch := ChannelSetting{ID: id, Origins: []OriginSetting{}}
		var have ChannelSetting
		if i := slices.IndexFunc(effective.Channels, func(c ChannelSetting) bool { return c.ID == id }); i >= 0 {
			have = effective.Channels[i]
			ch.Enabled = have.Enabled
		}
		var origins []string
		topics := map[string][]string{}
		add := func(origin, topic string) {
			if !slices.Contains(origins, origin) {
				origins = append(origins, origin)
			}
			if topic != "" && !slices.Contains(topics[origin], topic) {
				topics[origin] = append(topics[origin], topic)
			}
		}
		for _, r := range received {
			add(r.origin, r.topic)
		}
		for _, o := range have.Origins {
			add(o.ID, "")
			for _, t := range o.Topics {
				add(o.ID, t.ID)
			}
		}
		for _, origin := range origins {
			os := OriginSetting{ID: origin, Enabled: enabledFor(effective, id, origin, ""), Topics: []TopicSetting{}}
			for _, topic := range topics[origin] {
				os.Topics = append(os.Topics, TopicSetting{ID: topic, Enabled: enabledFor(effective, id, origin, topic)})
			}
			ch.Origins = append(ch.Origins, os)
		}
		out.Channels = append(out.Channels, ch)
	}
	return out
}
