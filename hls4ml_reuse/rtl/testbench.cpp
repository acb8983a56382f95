// AXI4-Stream test bench for a Verilated design (hls4ml_reuse/rtl/verilator.py builds it with --prefix Vtop).
//
//   testbench INPUTS RESULTS N_OUTPUTS MAX_CYCLES STALL_SEED [COVERAGE]
//
// INPUTS holds one input beat a line: "LAST HEXDATA". The bench resets the design (rst high for RESET_CYCLES
// edges), then drives the beats in order on s_axis_* as fast as s_axis_tready allows and holds m_axis_tready high.
// STALL_SEED >= 0 instead drops s_axis_tvalid and m_axis_tready pseudo-randomly (std::mt19937, so the run is
// reproducible), to show handshake bugs. Cycle 0 is the first rising edge after reset; a beat transfers at an
// edge where tvalid and tready are both high. RESULTS gets "in CYCLE" for each accepted input beat, "out CYCLE
// LAST HEXDATA" for each output beat and "cycles N" at the end. The run stops after N_OUTPUTS output beats; after
// MAX_CYCLES it fails with exit status 3. A coverage build writes its counters to COVERAGE, zeroed after reset.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "Vtop.h"
#include "verilated.h"
#if VM_COVERAGE
#include "verilated_cov.h"
#endif

namespace {

constexpr int RESET_CYCLES = 4;
constexpr int TIMEOUT_STATUS = 3;

struct Beat {
    std::vector<uint32_t> words; // least significant word first
    bool last;
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::vector<uint32_t> parse_hex(const std::string &hex) {
    std::vector<uint32_t> words((hex.size() + 7) / 8, 0);
    for (std::size_t i = 0; i < hex.size(); ++i) {
        const std::size_t nibble = hex.size() - 1 - i; // nibble index from the least significant end
        const int digit = hex_digit(hex[i]);
        if (digit < 0) {
            std::cerr << "testbench: not a hex digit in '" << hex << "'\n";
            std::exit(2);
        }
        words[nibble / 8] |= static_cast<uint32_t>(digit) << (4 * (nibble % 8));
    }
    return words;
}

std::string format_hex(const std::vector<uint32_t> &words) {
    std::string hex;
    char buffer[9];
    for (std::size_t i = words.size(); i-- > 0;) {
        std::snprintf(buffer, sizeof buffer, "%08x", words[i]);
        hex += buffer;
    }
    return hex;
}

// Ports are CData/SData/IData/QData (integers) up to 64 bits and VlWide<N> (N 32-bit words) beyond.
template <typename T, typename = std::enable_if_t<std::is_integral<T>::value>>
void set_port(T &port, const std::vector<uint32_t> &words) {
    uint64_t value = 0;
    for (std::size_t i = 0; i < words.size() && i < 2; ++i) value |= static_cast<uint64_t>(words[i]) << (32 * i);
    port = static_cast<T>(value);
}

template <std::size_t N> void set_port(VlWide<N> &port, const std::vector<uint32_t> &words) {
    for (std::size_t i = 0; i < N; ++i) port[i] = i < words.size() ? words[i] : 0;
}

template <typename T, typename = std::enable_if_t<std::is_integral<T>::value>>
std::vector<uint32_t> get_port(const T &port) {
    const uint64_t value = port;
    return {static_cast<uint32_t>(value), static_cast<uint32_t>(value >> 32)};
}

template <std::size_t N> std::vector<uint32_t> get_port(const VlWide<N> &port) {
    return std::vector<uint32_t>(port.data(), port.data() + N);
}

std::vector<Beat> read_beats(const char *path) {
    std::ifstream in(path);
    if (!in) {
        std::cerr << "testbench: cannot read " << path << "\n";
        std::exit(2);
    }
    std::vector<Beat> beats;
    int last;
    std::string hex;
    while (in >> last >> hex) beats.push_back({parse_hex(hex), last != 0});
    return beats;
}

// Pseudo-random stalls: each cycle, tvalid (resp. tready) is dropped with probability 1/4.
class Stalls {
  public:
    explicit Stalls(long seed) : enabled_(seed >= 0), rng_(static_cast<uint32_t>(seed)) {}
    bool drop() { return enabled_ && (rng_() & 3) == 0; }

  private:
    bool enabled_;
    std::mt19937 rng_;
};

void tick(Vtop &top) {
    top.clk = 1;
    top.eval();
    top.clk = 0;
    top.eval();
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 6) {
        std::cerr << "usage: testbench INPUTS RESULTS N_OUTPUTS MAX_CYCLES STALL_SEED [COVERAGE]\n";
        return 2;
    }
    const std::vector<Beat> inputs = read_beats(argv[1]);
    std::ofstream results(argv[2]);
    const long n_outputs = std::atol(argv[3]);
    const long max_cycles = std::atol(argv[4]);
    Stalls stalls(std::atol(argv[5]));

    auto context = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vtop>(context.get());
    top->clk = 0;
    top->rst = 1;
    top->s_axis_tvalid = 0;
    top->m_axis_tready = 0;
    top->eval();
    for (int i = 0; i < RESET_CYCLES; ++i) tick(*top);
    top->rst = 0;
    top->eval();
#if VM_COVERAGE
    context->coveragep()->zero();
#endif

    std::size_t next_input = 0;
    long produced = 0;
    long cycle = 0;
    for (; produced < n_outputs; ++cycle) {
        if (cycle >= max_cycles) {
            std::cerr << "timeout at cycle " << cycle << ": " << next_input << " of " << inputs.size()
                      << " input beats accepted, " << produced << " of " << n_outputs << " output beats produced\n";
            return TIMEOUT_STATUS;
        }
        const bool offer = next_input < inputs.size() && !stalls.drop();
        top->s_axis_tvalid = offer;
        if (offer) {
            set_port(top->s_axis_tdata, inputs[next_input].words);
            top->s_axis_tlast = inputs[next_input].last;
        }
        top->m_axis_tready = !stalls.drop();
        top->eval(); // settle the outputs, which may depend on these inputs, before the edge
        if (offer && top->s_axis_tready) {
            results << "in " << cycle << "\n";
            ++next_input;
        }
        if (top->m_axis_tvalid && top->m_axis_tready) {
            results << "out " << cycle << " " << int(top->m_axis_tlast) << " " << format_hex(get_port(top->m_axis_tdata))
                    << "\n";
            ++produced;
        }
        tick(*top);
    }
    results << "cycles " << cycle << "\n";
    top->final();
#if VM_COVERAGE
    if (argc > 6) context->coveragep()->write(argv[6]);
#endif
    return 0;
}
