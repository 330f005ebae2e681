// Hooks for the tests, compiled only into the test build of the kernel (CMake option
// LSTM_NATIVE_TEST_HOOKS, which builds a second kernel library and a second addon; the shipped
// addon never contains them). They let the tests slow one thread down to exercise the schedulers'
// rebalancing, count what the schedulers and the pool did, and take the GEMM's rare paths.
#pragma once

#if defined(LSTM_NATIVE_TEST_HOOKS)

#include <cstdint>

namespace lstm {

// The thread running row 0 of run_row_steps sleeps `us` after each of its steps (0: off), so the
// other threads run out of work and take rows over; and how many times rows were handed over since
// the process started.
namespace rec {
void set_row_steps_test_delay_us(int us);
uint64_t row_steps_handovers();
// The same for run_block_steps: the thread running the range with block 0 sleeps after each step;
// and how many steps ran with uneven cuts since the process started.
void set_block_steps_test_delay_us(int us);
uint64_t block_steps_uneven();
}  // namespace rec

// The built-in GEMM behaves as if the memory for its A blocks could not be allocated (products
// against a prepacked B then pack A one micro-panel at a time on the stack).
void gemm_builtin_test_no_a_scratch(bool on);

// How many times pool threads went to sleep (workers between jobs, callers waiting for a job's
// chunks) since the process started, and the spin budget in microseconds, settable at run time.
struct PoolSleeps {
  uint64_t workers;
  uint64_t callers;
};
PoolSleeps pool_sleeps();
void set_pool_spin_us(int us);

}  // namespace lstm

#endif  // LSTM_NATIVE_TEST_HOOKS
