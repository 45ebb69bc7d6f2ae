# Runs the Rails guide's configuration outside Rails (Debian has no railties): reads JSON
# {"kind", "code", "env"} on stdin, runs the code with only `env` in ENV, prints JSON.
#   kind "syntax": {"ok"} from RubyVM's parser.
#   kind "yaml":   the ERB rendered and parsed as Rails reads config/*.yml, or the error.
#   kind "config": the block evaluated with a `config` that records every assignment.
require "erb"
require "json"
require "yaml"
require "active_support"
require "active_support/core_ext/object/blank"

# Stands for Rails' config: `config.turbo.signed_stream_verifier_key = x` records
# "turbo.signed_stream_verifier_key" => x.
class RecordingConfig
  def initialize(path = [], record = {})
    @path = path
    @record = record
  end

  attr_reader :record

  def method_missing(name, *args)
    if name.to_s.end_with?("=")
      @record[(@path + [name.to_s.chomp("=")]).join(".")] = args.first
    else
      RecordingConfig.new(@path + [name.to_s], @record)
    end
  end

  def respond_to_missing?(*) = true
end

request = JSON.parse($stdin.read)
ENV.replace(request["env"])
result =
  begin
    case request["kind"]
    when "syntax"
      RubyVM::InstructionSequence.compile(request["code"])
      { "ok" => true }
    when "yaml"
      { "ok" => true, "value" => YAML.safe_load(ERB.new(request["code"]).result, aliases: true) }
    when "config"
      config = RecordingConfig.new
      config.instance_eval(request["code"])
      { "ok" => true, "value" => config.record }
    end
  rescue Exception => e # rubocop:disable Lint/RescueException
    { "ok" => false, "error" => "#{e.class}: #{e.message}" }
  end
puts JSON.generate(result)
