#!/usr/bin/env ruby
# frozen_string_literal: true

# Generates test/fixtures/signed-stream-names.json: stream names signed by the real Ruby code,
# for test/conformance/signed-stream-fixtures.test.ts to verify with lambda/core/signed-stream.ts.
#
#   ruby test/conformance/rails/generate-signed-names.rb [OUTPUT]   # stdout when OUTPUT is omitted
#
# - "turbo": ActiveSupport::MessageVerifier configured exactly as turbo-rails configures
#   Turbo.signed_stream_verifier (digest SHA256, serializer JSON), `.generate(name)`.
#   @see https://github.com/hotwired/turbo-rails/blob/main/lib/turbo-rails.rb
# - "anycable": AnyCable::Streams.signed from the anycable gem: the URL-safe alphabet
#   (Base64.urlsafe_encode64, padded) with the HMAC-SHA256 hex digest over that text.
#   @see https://github.com/anycable/anycable/blob/master/lib/anycable/streams.rb
# - "variants": altered signed names and what Rails' own verifier (`verified`) makes of them.
# - "nonString": payloads that are not strings; Turbo never signs one, but Rails would accept it.
#
# The output is deterministic (HMAC has no nonce), so the test regenerates it and compares.

require "json"
require "base64"
require "openssl"
require "active_support"
require "active_support/message_verifier"
require "active_support/core_ext/object/json" # loaded in every Rails app; must not change the output

KEYS = {
  "ascii" => "cdk-cable-conformance-secret",
  "utf8" => "clé-secrète-🔑"
}.freeze

# [label, name]
NAMES = [
  ["ascii", "messages"],
  ["global id (turbo_stream_from @room)", "Z2lkOi8vYXBwL1Jvb20vMQ"],
  ["several streamables joined with ':'", "Z2lkOi8vYXBwL1Jvb20vMQ:messages"],
  ["base64 contains '+' and '/'", "chat?>>~"],
  ["base64 contains '+', no '/'", "room>?"],
  ["base64 contains '/', no '+'", "rooms/1?"],
  ["URL-safe base64 contains '--'", "ϾϾ"],
  ["non-ASCII (Latin-1 range)", "café"],
  ["non-ASCII (CJK, '/')", "日本語/チャット"],
  ["emoji (astral plane)", "🎉 party"],
  ["HTML and JSON metacharacters", "<turbo-stream action=\"append\">&amp;\\"],
  ["empty", ""],
  ["long (1,848 characters)", "#{"Z2lkOi8vYXBwL1Jvb20vMQ:" * 80}messages"]
].freeze

NON_STRING_PAYLOADS = [42, nil, true, ["a", "b"], { "stream" => "messages" }].freeze

def turbo_verifier(key)
  ActiveSupport::MessageVerifier.new(key, digest: "SHA256", serializer: JSON)
end

def hmac(key, data)
  OpenSSL::HMAC.hexdigest("SHA256", key, data)
end

# AnyCable::Streams.signed, with the key passed in instead of read from AnyCable.config.
def anycable_signed(key, name)
  encoded = ::Base64.urlsafe_encode64(::JSON.dump(name))
  "#{encoded}--#{hmac(key, encoded)}"
end

# AnyCable::Streams.verified, likewise.
def anycable_verified(key, signed)
  encoded, sig = signed.split("--")
  return unless sig == hmac(key, encoded)

  ::JSON.parse(::Base64.urlsafe_decode64(encoded))
rescue ArgumentError, JSON::ParserError
  nil
end

def flip(text, index)
  replacement = text[index] == "A" ? "B" : "A"
  text.dup.tap { |copy| copy[index] = replacement }
end

def variants(key_label, name)
  key = KEYS.fetch(key_label)
  verifier = turbo_verifier(key)
  signed = verifier.generate(name)
  data, _, digest = signed.rpartition("--")
  resigned = ->(text) { "#{text}--#{hmac(key, text)}" }
  {
    "data byte changed" => "#{flip(data, 1)}--#{digest}",
    "digest changed" => "#{data}--#{flip(digest, 0)}",
    "signed with another key" => turbo_verifier("#{key}-other").generate(name),
    "digest truncated" => "#{data}--#{digest[0...-2]}",
    "no separator" => "#{data}#{digest}",
    "digest in upper case" => "#{data}--#{digest.upcase}",
    "URL-safe alphabet, re-signed" => resigned.call(data.tr("+/", "-_")),
    "padding removed, re-signed" => resigned.call(data.delete("=")),
    "payload not base64, re-signed" => resigned.call("not*base64"),
    "payload not JSON, re-signed" => resigned.call(Base64.strict_encode64("not json"))
  }.map do |kind, text|
    { "kind" => kind, "key" => key_label, "name" => name, "signed" => text }.merge(rails_outcome(verifier, text))
  end
end

# What `verified` returns, or the exception it raises (turbo-rails does not rescue it: the
# subscription then fails with an error in the log and neither confirm nor reject is sent).
def rails_outcome(verifier, signed)
  { "railsVerified" => verifier.verified(signed) }
rescue StandardError => e
  { "railsVerified" => nil, "railsRaised" => e.class.name }
end

fixture = {
  "generator" => "test/conformance/rails/generate-signed-names.rb (do not edit by hand)",
  "keys" => KEYS,
  "turbo" => KEYS.flat_map do |key_label, key|
    verifier = turbo_verifier(key)
    NAMES.map do |label, name|
      signed = verifier.generate(name)
      raise "round trip failed for #{label}" unless verifier.verified(signed) == name

      { "label" => label, "key" => key_label, "name" => name, "signed" => signed }
    end
  end,
  "anycable" => KEYS.flat_map do |key_label, key|
    NAMES.map do |label, name|
      signed = anycable_signed(key, name)
      { "label" => label, "key" => key_label, "name" => name, "signed" => signed,
        "anycableRubyVerified" => anycable_verified(key, signed) }
    end
  end,
  "variants" => variants("ascii", "chat?>>~") + variants("utf8", "日本語/チャット"),
  "nonString" => NON_STRING_PAYLOADS.map do |payload|
    signed = turbo_verifier(KEYS["ascii"]).generate(payload)
    { "key" => "ascii", "payload" => payload, "signed" => signed,
      "railsVerified" => turbo_verifier(KEYS["ascii"]).verified(signed) }
  end
}

output = "#{JSON.pretty_generate(fixture)}\n"
if ARGV[0]
  File.write(ARGV[0], output)
else
  $stdout.write(output)
end
