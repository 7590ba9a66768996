"""Test-suite settings shared by every module.

``make test`` (what CI runs) selects the profile ``ci`` (``--hypothesis-profile ci``; also
when ``CI`` is set): Hypothesis draws the same examples on every run (``derandomize``), so a
landing never depends on a lucky draw. A plain ``pytest`` on a developer's machine explores new
examples each run and keeps failures in its database; a failure it finds becomes an explicit
regression test.
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as the `brud` command sets (brud_analysis/cli/__init__.py says why),
# before anything imports NumPy: the tests call the library in this process, two xdist workers
# share the two cores, and spinning BLAS threads cost CPU (symbolic test files: -20 % of CPU).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# JAX's persistent compilation cache for the suite: most of a verify test's CPU is XLA
# compiling its trainer (e.g. 4.2 s of a 4.6 s Twin Peaks run; 2.0 s with the cache), and the
# same programs are compiled by both xdist workers, by the `brud` subprocesses the tests start
# (they inherit these variables) and by every later run. The cache is keyed by the program, the
# compiler options and the JAX version, so a hit returns the same executable: nothing a test
# checks changes. In .pytest_cache (git-ignored; `pytest --cache-clear` empties it); a cache
# directory already chosen by the caller is kept.
_JAX_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          ".pytest_cache", "jax-compilation")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _JAX_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")


# Forking a process whose JAX backend has started its thread pools can deadlock the child.
# The CLI fuzz test forks a hundred times: run its file first, before any test file starts JAX
# in the same process (pytest-xdist --dist loadfile hands files to workers in this order: its
# default re-ordering by the number of tests per file is turned off in pytest_configure).
FORK_HEAVY = ("test_cli_fuzz.py",)
# Then the most expensive files, longest first (CPU measured 2026-12-07 with BRUD_TEST_CPU_LOG;
# test_solve at the CPU-time budgets of a quiet machine), then the other slow files, then the
# rest: under --dist loadfile the last file a worker starts is then a short one, so the two
# workers end together (longest-first balancing) instead of one waiting for a late big file.
HEAVY_FIRST = ("test_paper_checks.py", "test_solve.py", "test_readme_snippets.py",
               "test_harness.py", "test_mutations.py", "test_halfcheetah_experiment.py",
               "test_docstring_examples.py",
               "test_halfcheetah_behaviour.py", "test_polygames.py", "test_parametric.py",
               "test_regularisers.py", "test_json_vocabulary.py",
               "test_halfcheetah_paper_checks.py", "test_cli_verify.py", "test_pjap.py",
               "test_halfcheetah_vault.py", "test_cli_critic.py", "test_conditions.py")


# The fast tier for the edit-test loop (`make test-fast`, i.e. `pytest -m "not slow"`, under
# a minute on 2 cores): every test but the slow ones. Slow = more than ~0.75 s of CPU each, as
# measured with BRUD_TEST_CPU_LOG below: whole files here (`-m "not slow"` then does not even
# import them: their imports of JAX, MuJoCo, Jupyter are much of the collection time), single
# tests in SLOW_TESTS (by node id: without parameters, all of them) or marked
# @pytest.mark.slow in their file. `make test` runs everything.
SLOW_FILES = frozenset({
    "test_animation.py", "test_cli_fuzz.py", "test_cli_halfcheetah.py", "test_cli_verify.py",
    "test_docs.py", "test_harness.py", "test_json_vocabulary.py", "test_mutations.py",
    "test_notebooks.py", "test_paper_checks.py", "test_plots_verify.py", "test_polygames.py",
    "test_types.py",
})
SLOW_PREFIXES = ("test_halfcheetah_",)
# (measured 2026-12-07: more than 0.75 s of CPU in some parametrisation)
SLOW_TESTS = frozenset({
    "tests/test_bounded.py::test_a_cpu_bound_worker_is_stopped_and_the_message_names_the_cpu_budget",  # noqa: E501
    "tests/test_cli_symbolic.py::test_symbolic_package_never_imports_jax",
    "tests/test_cli_symbolic.py::test_time_budget_stops_the_whole_command_with_one_line",
    "tests/test_cli_symbolic.py::test_worker_and_its_solver_die_with_a_killed_parent",
    "tests/test_cli_symbolic.py::test_worker_memory_cap_is_on_top_of_what_the_caller_already_maps",  # noqa: E501
    "tests/test_conditions.py::test_conditions_do_not_depend_on_the_game_scale",
    "tests/test_modular.py::test_equals_flints_charpoly_on_quotient_multiplication_matrices",
    "tests/test_parametric.py::test_brud_fixed_points_match_numeric",
    "tests/test_parametric.py::test_cli_json_contract_twin_peaks",
    "tests/test_parametric.py::test_cli_latex_and_errors",
    "tests/test_parametric.py::test_own_games_stationary_match_numeric",
    "tests/test_parametric.py::test_twin_peaks_paper_formulas",
    "tests/test_phase_diagrams.py::test_condition_plot_cli",
    "tests/test_phase_diagrams.py::test_pjap_plane_switches_at_the_escape_threshold",
    "tests/test_phase_diagrams.py::test_pjap_plot_cli",
    "tests/test_phase_diagrams.py::test_small_diagram_file",
    "tests/test_pjap.py::test_certified_fixed_points_match_multistart",
    "tests/test_pjap.py::test_cli_alpha_symbol_prints_formulas",
    "tests/test_pjap.py::test_formulas_in_alpha_match_numeric_fixed_points",
    "tests/test_pjap.py::test_formulas_in_alpha_twin_peaks",
    "tests/test_pjap.py::test_limits_brud_and_true_gradient",
    "tests/test_pjap.py::test_numeric_l2_field_matches_closed_form",
    "tests/test_regularisers.py::test_bc_raises_pjap_escape_threshold",
    "tests/test_regularisers.py::test_cli_condition_and_pjap_field_with_regulariser",
    "tests/test_regularisers.py::test_condition_holds_at_the_data_that_produce_the_target",
    "tests/test_regularisers.py::test_trained_regularised_runs_land_on_the_symbolic_point",
    "tests/test_sampling.py::test_draw_frequencies_follow_priorities",
    "tests/test_sampling.py::test_exponent_sharpens_and_zero_exponent_is_uniform",
    "tests/test_sampling.py::test_priority_updates_refresh_and_importance_weights",
    "tests/test_sampling.py::test_two_level_sampling_draws_exactly_what_one_level_draws",
    "tests/test_solve.py::test_a_hypersurface_with_only_singular_real_points_is_classified_on_its_real_locus",  # noqa: E501
    "tests/test_solve.py::test_fallback_reports_only_certified_points",
    "tests/test_solve.py::test_three_agent_hypersurface_pieces_follow_the_sign_of_the_cofactor",
    "tests/test_solve.py::test_three_agent_set_kinds_are_right_at_every_scale_and_place",
    "tests/test_solve.py::test_time_budget_falls_back_and_never_hangs",
    "tests/test_stability.py::test_classification_is_right_at_every_scale_and_place",
    # (measured 2026-12-07 13:20, BRUD_TEST_CPU_LOG: more than 0.75 s of CPU; a parametrised
    # test by its full node id, which marks only that parametrisation)
    "tests/test_cli_refusals.py::test_consistent_requests_still_run[argv0]",
    "tests/test_cli_refusals.py::test_consistent_requests_still_run[argv1]",
    "tests/test_critic.py::test_alpha_zero_class_containing_reward_is_todays_brud",
    "tests/test_critic.py::test_random_settings_match_independent_computation",
    "tests/test_cli_critic.py::test_assume_simplifies_data_symbol_conditions",
    "tests/test_cli_critic.py::test_assume_with_game_parameters_reports_stationary_points",
    "tests/test_cli_critic.py::test_pjap_field_with_a_critic_finds_the_claims_point",
    "tests/test_modular.py::test_equals_flints_charpoly_on_random_rational_matrices",
    "tests/test_parametric.py::test_parametric_crash_patterns_answer[-x**4 + K*x*y**3 - y**4-m, 1/2-]",  # noqa: E501
    "tests/test_parametric.py::test_parametric_crash_patterns_answer[twin_peaks(A=1,B=4,C=C)-empirical-]",  # noqa: E501
    "tests/test_parametric.py::test_twin_peaks_stationary_match_numeric_everywhere",
    "tests/test_pjap.py::test_escape_threshold_twin_peaks_symbolic",
    "tests/test_readme_snippets.py::test_snippet_prints_what_the_page_shows[docs/derive.md:123]",
    "tests/test_readme_snippets.py::test_snippet_prints_what_the_page_shows[docs/derive.md:140]",
    "tests/test_readme_snippets.py::test_snippet_prints_what_the_page_shows[docs/derive.md:167]",
    "tests/test_readme_snippets.py::test_snippet_prints_what_the_page_shows[docs/paper.md:124]",
    "tests/test_readme_snippets.py::test_snippet_prints_what_the_page_shows[docs/paper.md:146]",
    "tests/test_regularisers.py::test_pjap_with_bc_at_alpha_zero_is_brud_with_bc",
    "tests/test_solve.py::test_a_line_with_isolated_points_in_3_agents_is_split_exactly_known_gap",
    "tests/test_solve.py::test_benchmark_game_1_reports_its_isolated_points_beside_the_line",
    "tests/test_solve.py::test_brud_fixed_points_satisfy_the_field_equations",
    "tests/test_solve.py::test_docstring_examples_of_the_algebra_and_parametric_modules_pass[brud_analysis.parametric.stationary]",  # noqa: E501
    "tests/test_solve.py::test_docstring_examples_of_the_algebra_and_parametric_modules_pass[brud_analysis.parametric_report]",  # noqa: E501
    "tests/test_solve.py::test_isolated_points_beside_a_stationary_line_are_found_or_flagged",
    "tests/test_solve.py::test_stationary_points_satisfy_the_gradient_equations",
    "tests/test_bounded.py::test_solver_answers_do_not_depend_on_the_wall_clock",
    "tests/test_commands_symbolic.py::test_analyse_with_data_file_and_plot",
    "tests/test_commands_symbolic.py::test_condition_json_contract",
    "tests/test_commands_symbolic.py::test_condition_negative_exact_target_via_equals_form",
    "tests/test_commands_symbolic.py::test_condition_uniform_family_and_unknown_family",
    "tests/test_commands_symbolic.py::test_condition_with_symbolic_parameters",
    "tests/test_commands_symbolic.py::test_error_plot_needs_two_agents",
    "tests/test_conditions.py::test_every_agent_gets_a_relation",
    "tests/test_conditions.py::test_twin_peaks_eq5_relation_sign_and_range[1]",
    "tests/test_critic_claims.py::test_bilinear_refuted_when_the_class_can_represent_r",
    "tests/test_critic_claims.py::test_joint_vs_brud_confirmed_when_joint_always_wins",
    "tests/test_critic_claims.py::test_tp_alpha_shift_refuted_by_a_failed_training",
    "tests/test_critic_claims.py::test_tp_alpha_shift_refuted_when_policy_moves_further",
    "tests/test_critic_pjap.py::test_cql_with_pjap_polynomial_field_has_the_numeric_zeros_and_jacobian",  # noqa: E501
    "tests/test_critic_pjap.py::test_distance_is_the_folded_normal_mean",
    "tests/test_critic_pjap.py::test_least_squares_with_r_in_the_class_is_the_closed_form_pjap_field",  # noqa: E501
    "tests/test_critic_pjap.py::test_without_pjap_it_is_the_critic_field_on_the_data",
    "tests/test_critic_training.py::test_a_wrong_prediction_fails[_flipped]",
    "tests/test_critic_training.py::test_a_wrong_prediction_fails[_halved]",
    "tests/test_critic_training.py::test_bistable_runs_are_judged_against_their_basins_point",
    "tests/test_critic_training.py::test_bistable_runs_put_in_the_wrong_basin_fail",
    "tests/test_critic_training.py::test_policy_ood_sequential_passes",
    "tests/test_critic_training.py::test_twin_peaks_brud_uniform_ood_passes",
    "tests/test_figure_provenance.py::test_phase_diagrams",
    "tests/test_package_metadata.py::test_lazy_public_names_are_typed",
    "tests/test_parametric.py::test_twin_peaks_under_assumptions_match_numeric",
    "tests/test_parametric.py::test_twin_peaks_violating_c_gt_2a_changes_the_numeric_answer",
    "tests/test_pjap.py::test_decimal_alpha_is_taken_exactly",
    "tests/test_regularisers.py::test_zero_weight_bc_is_plain_brud",
    "tests/test_sampling.py::test_l2_distance_has_finite_gradient_where_data_equals_policy",
    # (measured 2026-12-07 22:55, quiet, `make test-fast` with BRUD_TEST_CPU_LOG)
    "tests/test_solve.py::test_isolated_points_beside_a_line_in_3_agents_are_all_found_and_certified",  # noqa: E501
    "tests/test_stability.py::test_rank_drop_points_of_a_set_have_one_more_known_zero_eigenvalue",  # noqa: E501
    "tests/test_cli_symbolic.py::test_the_jax_check_sees_an_import",
    "tests/test_cli_symbolic.py::test_symbolic_commands_never_import_jax",
    "tests/test_bounded.py::test_run_process_counts_cpu_not_wall_time",
    "tests/test_bounded.py::test_a_paused_worker_is_not_stuck",
    "tests/test_import_graph.py::test_the_graph_is_read",
})


def _slow_file(name: str) -> bool:
    return name in SLOW_FILES or name.startswith(SLOW_PREFIXES)


def pytest_ignore_collect(collection_path, config):
    if config.getoption("markexpr", "") == "not slow" and _slow_file(collection_path.name):
        return True
    return None


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        if (_slow_file(item.path.name) or item.nodeid in SLOW_TESTS
                or item.nodeid.split("[")[0] in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
    items.sort(key=_file_rank)  # stable: within a rank, as found


def _file_rank(item) -> tuple[int, int]:
    name = item.path.name
    if name in FORK_HEAVY:
        return 0, 0
    if name in HEAVY_FIRST:
        return 1, HEAVY_FIRST.index(name)
    return (2 if _slow_file(name) else 3), 0


def pytest_configure(config) -> None:
    # pytest-xdist (>= 3.6) hands out files ordered by their number of tests unless told not
    # to: keep the order above (fork-heavy first, then longest first).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


# CPU seconds per test and per test file's collection (its imports), for finding the slow ones
# on a shared, loaded machine where wall-clock --durations mislead: with
# BRUD_TEST_CPU_LOG=FILE each is appended to FILE as a JSON line {"id": ..., "cpu": ...}
# (this process and its ended children; a module fixture counts in its first test).
_CPU_LOG = os.environ.get("BRUD_TEST_CPU_LOG")


def _log_cpu(nodeid: str, start: float) -> None:
    import json

    from brud_analysis.bounded import cpu_clock

    with open(_CPU_LOG, "a") as log:  # type: ignore[arg-type]
        log.write(json.dumps({"id": nodeid, "cpu": round(cpu_clock() - start, 3)}) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _CPU_LOG:
        yield
        return
    from brud_analysis.bounded import cpu_clock

    start = cpu_clock()
    yield
    _log_cpu(item.nodeid, start)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    if not _CPU_LOG or not isinstance(collector, pytest.Module):
        yield
        return
    from brud_analysis.bounded import cpu_clock

    start = cpu_clock()
    yield
    _log_cpu(f"{collector.nodeid}::<collect>", start)
